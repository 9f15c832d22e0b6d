#!/usr/bin/env bash
# The whole stack as local processes, for machines without a Docker engine.
# Same topology as docker-compose.yml: Redis (AOF), Elasticsearch, a one-shot setup, then
# crawler (+ beat), worker and indexer Celery processes under honcho.
#   stack.sh up | down | env-run CMD...
# REDIS_URL / ELASTICSEARCH_URL set in the environment mean "use those servers": then only
# our services are started. All state lives in run/stack/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
run="$root/run/stack"
redis_port=${REDIS_PORT:-6379}
es_port=${ES_PORT:-9200}
py=${PYTHON:-$root/.venv/bin/python}
mkdir -p "$run"
cd "$root"

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

case "${1:?up|down|env-run}" in
  up)
    : > "$run/stack.env"
    if [ -z "${REDIS_URL:-}" ]; then
      "$here/redis.sh" start "$run" "$redis_port" --aof && touch "$run/started-redis"
      echo "export REDIS_URL=redis://127.0.0.1:$redis_port/0" >> "$run/stack.env"
    fi
    if [ -z "${ELASTICSEARCH_URL:-}" ]; then
      ES_HEAP=${ES_HEAP:-1g} NEWSFLOW_ES_STATE=${NEWSFLOW_ES_STATE:-/var/tmp/newsflow-stack} \
        "$here/elasticsearch.sh" start "$es_port" && touch "$run/started-es"
      echo "export ELASTICSEARCH_URL=http://127.0.0.1:$es_port" >> "$run/stack.env"
    fi
    echo "export NEWSFLOW_RUN_DIR=$run" >> "$run/stack.env"
    # shellcheck disable=SC1091
    source "$run/stack.env"
    "$py" -m services.indexer setup
    if alive "$run/honcho.pid"; then echo "services already running (pid $(cat "$run/honcho.pid"))"; exit 0; fi
    PATH="$(dirname "$py"):$PATH" nohup "$(dirname "$py")/honcho" -f "$here/Procfile" -d "$root" start \
      >> "$run/services.log" 2>&1 &
    echo $! > "$run/honcho.pid"
    sleep 3
    alive "$run/honcho.pid" || { echo "services failed to start; see $run/services.log" >&2; tail -n 30 "$run/services.log" >&2; exit 1; }
    echo "stack up: services pid $(cat "$run/honcho.pid"), logs: make logs, status: make status"
    echo "Kibana is not run without Docker; import deploy/kibana/*.ndjson into yours with deploy/kibana/import.sh"
    ;;
  down)
    if alive "$run/honcho.pid"; then
      pid=$(cat "$run/honcho.pid"); kill -TERM "$pid"
      for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$run/honcho.pid"
    if [ -f "$run/started-es" ]; then NEWSFLOW_ES_STATE=${NEWSFLOW_ES_STATE:-/var/tmp/newsflow-stack} "$here/elasticsearch.sh" stop "$es_port"; rm -f "$run/started-es"; fi
    if [ -f "$run/started-redis" ]; then "$here/redis.sh" stop "$run" "$redis_port"; rm -f "$run/started-redis"; fi
    echo "stack down" ;;
  env-run)
    shift
    # shellcheck disable=SC1091
    [ -f "$run/stack.env" ] && source "$run/stack.env"
    exec "$@" ;;
  *) echo "usage: $0 up|down|env-run CMD..." >&2; exit 2 ;;
esac
