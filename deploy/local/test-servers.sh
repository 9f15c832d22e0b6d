#!/usr/bin/env bash
# The real servers the test suite talks to: Redis and Elasticsearch on loopback.
# Usage: test-servers.sh start|stop|env
#   start: start both (reusing ones already running on the ports) and write run/test/servers.env
#   stop:  stop what `start` started (servers that were already running are left alone)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
run="$root/run/test"
redis_port=${TEST_REDIS_PORT:-6390}
es_port=${TEST_ES_PORT:-9250}
mkdir -p "$run"

case "${1:?start|stop|env}" in
  start)
    if "$here/redis.sh" status "$run" "$redis_port" >/dev/null 2>&1; then :; else
      "$here/redis.sh" start "$run" "$redis_port" && touch "$run/started-redis"
    fi
    if "$here/elasticsearch.sh" status "$es_port" >/dev/null 2>&1; then :; else
      "$here/elasticsearch.sh" start "$es_port" && touch "$run/started-es"
    fi
    cat > "$run/servers.env" <<ENV
export NEWSFLOW_TEST_REDIS_URL=redis://127.0.0.1:$redis_port/0
export NEWSFLOW_TEST_ELASTICSEARCH_URL=http://127.0.0.1:$es_port
ENV
    ;;
  stop)
    [ -f "$run/started-redis" ] && "$here/redis.sh" stop "$run" "$redis_port" && rm -f "$run/started-redis"
    [ -f "$run/started-es" ] && "$here/elasticsearch.sh" stop "$es_port" && rm -f "$run/started-es"
    true ;;
  env) cat "$run/servers.env" ;;
  *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
