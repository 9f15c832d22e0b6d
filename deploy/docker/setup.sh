#!/bin/sh
# The compose `setup` service, run once before Kibana and the app services start:
#   1. Elasticsearch security (deploy/docker/security.py, as `elastic`): the kibana_system
#      password and the `newsflow` role and user the services log in with;
#   2. the index layout (`python -m services.indexer setup`, idempotent): templates, this
#      year's index, the sources index.
# Both are retried while Elasticsearch is still coming up (compose waits for the bundled node's
# healthcheck, but an external ELASTICSEARCH_URL is not covered by it). The Kibana saved objects
# are the `kibana-setup` service's (deploy/kibana/import.sh), once Kibana answers.
# Any failure exits non-zero, so services depending on `service_completed_successfully` stay down.
set -eu
attempts=${SETUP_ATTEMPTS:-30}
retry() {
  n=1
  until "$@"; do
    if [ "$n" -ge "$attempts" ]; then
      echo "setup: '$*' failed $attempts times; giving up" >&2
      exit 1
    fi
    echo "setup: Elasticsearch not ready (attempt $n/$attempts); retrying in 5s" >&2
    n=$((n + 1))
    sleep 5
  done
}
retry python deploy/docker/security.py
retry python -m services.indexer setup
