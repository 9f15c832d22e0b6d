#!/bin/sh
# The compose `setup` service, run once before the workers start:
#   1. index templates and this month's index (`python -m services.indexer setup`, idempotent),
#      retried while Elasticsearch is still coming up (compose waits for the bundled node's
#      healthcheck, but an external ELASTICSEARCH_URL is not covered by it);
#   2. the Kibana saved objects (deploy/kibana/import.sh waits for Kibana itself).
# Any failure exits non-zero, so services depending on `service_completed_successfully` stay down.
set -eu
attempts=${SETUP_ATTEMPTS:-30}
n=1
until python -m services.indexer setup; do
  if [ "$n" -ge "$attempts" ]; then
    echo "setup: index setup failed $attempts times; giving up" >&2
    exit 1
  fi
  echo "setup: Elasticsearch not ready (attempt $n/$attempts); retrying in 5s" >&2
  n=$((n + 1))
  sleep 5
done
exec deploy/kibana/import.sh
