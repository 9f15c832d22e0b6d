#!/usr/bin/env bash
# Generate the local overlay's secrets once (git-ignored): secrets.env for the newsflow-secrets
# Secret and redis-auth.conf for Redis' config include. Never overwrites; nothing is echoed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ -s "$here/secrets.env" ] && [ -s "$here/redis-auth.conf" ]; then
  echo "secrets: kept the existing $here/secrets.env"
  exit 0
fi
secret() { head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32; }
umask 077
redis=$(secret)
{
  echo "REDIS_PASSWORD=$redis"
  echo "ELASTICSEARCH_PASSWORD=${ELASTICSEARCH_PASSWORD:-$(secret)}"
} > "$here/secrets.env"
printf 'requirepass %s\n' "$redis" > "$here/redis-auth.conf"
echo "secrets: wrote $here/secrets.env and redis-auth.conf (mode 600); set ELASTICSEARCH_PASSWORD there to your cluster's"
