#!/usr/bin/env bash
# Start, stop or check a local redis-server on loopback.
# Usage: redis.sh start|stop|status RUN_DIR PORT [--aof]
# Installs Debian's redis-server if it is missing (we run as root on CI machines).
set -euo pipefail
cmd=${1:?start|stop|status}; run_dir=${2:?run dir}; port=${3:?port}; aof=${4:-}
mkdir -p "$run_dir"
run_dir=$(cd "$run_dir" && pwd)
pidfile="$run_dir/redis-$port.pid"

ensure_installed() {
  command -v redis-server >/dev/null 2>&1 && return
  echo "redis-server not found: installing Debian's package" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq redis-server >/dev/null
}

alive() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

case "$cmd" in
  start)
    if alive; then echo "redis already running on $port"; exit 0; fi
    ensure_installed
    persist=(--save "" --appendonly no)
    [ "$aof" = "--aof" ] && persist=(--appendonly yes --appendfsync everysec)
    redis-server --bind 127.0.0.1 --port "$port" --daemonize yes --pidfile "$pidfile" \
      --dir "$run_dir" --logfile "$run_dir/redis-$port.log" --protected-mode yes "${persist[@]}"
    for _ in $(seq 50); do
      redis-cli -p "$port" ping >/dev/null 2>&1 && { echo "redis up on 127.0.0.1:$port"; exit 0; }
      sleep 0.1
    done
    echo "redis did not start; see $run_dir/redis-$port.log" >&2; exit 1 ;;
  stop)
    if alive; then redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || kill "$(cat "$pidfile")"; fi
    rm -f "$pidfile" ;;
  status)
    alive && echo "redis running on $port" || { echo "redis not running on $port"; exit 1; } ;;
  *) echo "usage: $0 start|stop|status RUN_DIR PORT [--aof]" >&2; exit 2 ;;
esac
