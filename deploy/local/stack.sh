#!/usr/bin/env bash
# The whole stack as local processes, for machines without a Docker engine.
# Same topology as docker-compose.yml: Redis (AOF), Elasticsearch, a one-shot setup, then
# crawler, beat (exactly one), worker and indexer under supervisord (deploy/local/supervisord.conf),
# which restarts a crashed service and leaves the others running.
#   stack.sh up | down | status | ctl ARGS... | env-run CMD...
# REDIS_URL / ELASTICSEARCH_URL set in the environment mean "use those servers": then only
# our services are started. All state lives in run/stack/ (NEWSFLOW_RUN_DIR overrides it).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
run=${NEWSFLOW_RUN_DIR:-$root/run/stack}
redis_port=${REDIS_PORT:-6379}
es_port=${ES_PORT:-9200}
py=${PYTHON:-$root/.venv/bin/python}
bin=$(dirname "$py")
conf="$here/supervisord.conf"
mkdir -p "$run"
run=$(cd "$run" && pwd)
cd "$root"

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
ctl() { "$bin/supervisorctl" -s "unix://$run/supervisor.sock" "$@"; }

case "${1:?up|down|status|ctl|env-run}" in
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
    if alive "$run/supervisord.pid"; then echo "services already running (supervisord pid $(cat "$run/supervisord.pid"))"; exit 0; fi
    export NEWSFLOW_ROOT=$root CRAWLER_CONCURRENCY=${CRAWLER_CONCURRENCY:-2} WORKER_CONCURRENCY=${WORKER_CONCURRENCY:-4}
    PATH="$bin:$PATH" "$bin/supervisord" -c "$conf"   # daemonises; writes supervisord.pid
    for _ in $(seq 50); do [ -S "$run/supervisor.sock" ] && alive "$run/supervisord.pid" && break; sleep 0.2; done
    alive "$run/supervisord.pid" || { echo "supervisord failed to start; see $run/supervisord.log" >&2; tail -n 30 "$run/supervisord.log" >&2; exit 1; }
    sleep 4   # past every program's startsecs
    ctl status || { echo "a service failed to start; see $run/<service>.log" >&2; exit 1; }
    echo "stack up: supervisord pid $(cat "$run/supervisord.pid"), logs: make logs, status: make status"
    echo "Kibana is not run without Docker; import deploy/kibana/*.ndjson into yours with deploy/kibana/import.sh"
    ;;
  down)
    if alive "$run/supervisord.pid"; then
      pid=$(cat "$run/supervisord.pid")
      ctl shutdown >/dev/null 2>&1 || kill -TERM "$pid"   # stops every program (whole groups), then itself
      for _ in $(seq 80); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$run/supervisord.pid"
    if [ -f "$run/started-es" ]; then NEWSFLOW_ES_STATE=${NEWSFLOW_ES_STATE:-/var/tmp/newsflow-stack} "$here/elasticsearch.sh" stop "$es_port"; rm -f "$run/started-es"; fi
    if [ -f "$run/started-redis" ]; then "$here/redis.sh" stop "$run" "$redis_port"; rm -f "$run/started-redis"; fi
    echo "stack down" ;;
  status)
    if alive "$run/supervisord.pid"; then ctl status || true; else echo "services: not running (make up)"; fi ;;
  ctl)
    shift; ctl "$@" ;;
  env-run)
    shift
    # shellcheck disable=SC1091
    [ -f "$run/stack.env" ] && source "$run/stack.env"
    exec "$@" ;;
  *) echo "usage: $0 up|down|status|ctl ARGS...|env-run CMD..." >&2; exit 2 ;;
esac
