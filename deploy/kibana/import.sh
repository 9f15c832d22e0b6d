#!/usr/bin/env bash
# Import newsflow's Kibana saved objects (deploy/kibana/*.ndjson) into a Kibana 9.x.
#
#   deploy/kibana/import.sh                         # KIBANA_URL defaults to http://localhost:5601
#   KIBANA_URL=https://kibana.example.org KIBANA_API_KEY=... deploy/kibana/import.sh
#
# Used by the compose `setup` service (KIBANA_URL=http://kibana:5601) and by hand against an
# existing Kibana. Waits until Kibana reports itself available, then POSTs each file to
# /api/saved_objects/_import?overwrite=true, so a re-run updates the objects in place (fixed ids).
# Fails loudly: a non-2xx answer or a response without "success":true exits non-zero and prints
# Kibana's answer, because the import API answers 200 even when some objects were rejected.
#
# Environment:
#   KIBANA_URL            base URL of Kibana (no trailing slash needed)
#   KIBANA_SPACE          import into this space instead of the default one
#   KIBANA_API_KEY        sent as "Authorization: ApiKey ..." (security enabled), or
#   KIBANA_USERNAME/KIBANA_PASSWORD  basic auth (the compose stack: elastic)
#                         Either way curl reads them from a 0600 config file, not its arguments.
#   KIBANA_WAIT_SECONDS   how long to wait for Kibana (default 300), polling every
#   KIBANA_POLL_SECONDS   seconds (default 5)
#   INDEX_PREFIX          the index alias when it is not the default `headlines`: the data view
#                         title is rewritten to it on the way in (the files stay unchanged)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
kibana=${KIBANA_URL:-http://localhost:5601}
kibana=${kibana%/}
wait_seconds=${KIBANA_WAIT_SECONDS:-300}
poll_seconds=${KIBANA_POLL_SECONDS:-5}
api="$kibana"
[ -n "${KIBANA_SPACE:-}" ] && api="$kibana/s/$KIBANA_SPACE"

# Credentials go to curl in a config file (-K) inside a private temp directory, never as
# arguments: a command line is visible to every user of the machine (`ps`).
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 700 "$tmp"
curl_quote() { local v=${1//\\/\\\\}; printf '"%s"' "${v//\"/\\\"}"; }
auth=()
if [ -n "${KIBANA_API_KEY:-}" ]; then
  (umask 077; printf 'header = %s\n' "$(curl_quote "Authorization: ApiKey $KIBANA_API_KEY")" > "$tmp/auth.conf")
  auth=(-K "$tmp/auth.conf")
elif [ -n "${KIBANA_USERNAME:-}" ]; then
  (umask 077; printf 'user = %s\n' "$(curl_quote "$KIBANA_USERNAME:${KIBANA_PASSWORD:-}")" > "$tmp/auth.conf")
  auth=(-K "$tmp/auth.conf")
fi

prefix=${INDEX_PREFIX:-headlines}
if ! [[ $prefix =~ ^[a-z0-9][a-z0-9._-]*$ ]]; then
  echo "import.sh: INDEX_PREFIX='$prefix' is not a valid lowercase index name" >&2
  exit 2
fi

shopt -s nullglob
files=("$here"/*.ndjson)
if [ ${#files[@]} -eq 0 ]; then
  echo "import.sh: no .ndjson files in $here" >&2
  exit 1
fi

echo "waiting for Kibana at $kibana (up to ${wait_seconds}s)"
deadline=$((SECONDS + wait_seconds))
until curl -fsS ${auth[@]+"${auth[@]}"} "$kibana/api/status" 2>/dev/null | grep -q '"level":"available"'; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "import.sh: Kibana at $kibana did not report \"available\" within ${wait_seconds}s" >&2
    curl -sS ${auth[@]+"${auth[@]}"} "$kibana/api/status" >&2 || true
    echo >&2
    exit 1
  fi
  sleep "$poll_seconds"
done

status=0
for file in "${files[@]}"; do
  name=$(basename "$file")
  upload="$tmp/$name"
  # The data views are the only objects titled exactly "headlines" / "headlines-sources".
  sed -e "s/\"title\":\"headlines\"/\"title\":\"$prefix\"/" \
      -e "s/\"title\":\"headlines-sources\"/\"title\":\"$prefix-sources\"/" "$file" > "$upload"
  code=$(curl -sS -o "$tmp/response.json" -w '%{http_code}' ${auth[@]+"${auth[@]}"} \
    -X POST "$api/api/saved_objects/_import?overwrite=true" \
    -H "kbn-xsrf: newsflow-import" \
    --form "file=@$upload;type=application/ndjson") || code=000
  body=$(cat "$tmp/response.json" 2>/dev/null || true)
  if [[ $code == 2* ]] && grep -q '"success":true' <<<"$body"; then
    count=$(grep -o '"successCount":[0-9]*' <<<"$body" | cut -d: -f2)
    echo "imported $name: ${count:-?} objects"
  else
    echo "import.sh: importing $name failed (HTTP $code): $body" >&2
    status=1
  fi
done
exit $status
