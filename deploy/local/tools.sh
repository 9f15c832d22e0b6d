#!/usr/bin/env bash
# Tools the Kubernetes manifest tests need, installed into .cache/tools (git-ignored), pinned:
#   kubeconform  (go install github.com/yannh/kubeconform/cmd/kubeconform)
#   kustomize    (go install sigs.k8s.io/kustomize/kustomize/v5)
#   composecheck (deploy/local/composecheck: compose-go, the loader inside Docker Compose v2;
#                 validates and interpolates docker-compose.yml without a Docker engine)
#   Kubernetes JSON schemas for kubeconform, made standalone from the kubernetes-validate
#   wheel's strict schemas (a pinned dev dependency) by deploy/local/k8s_schemas.py, so the
#   tests never download schemas from GitHub.
# Idempotent: what is present is kept. Prints the environment the tests read.
#   deploy/local/tools.sh            # install, then print NEWSFLOW_* variables
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tools=${NEWSFLOW_TOOLS_DIR:-$root/.cache/tools}
py=${PYTHON:-$root/.venv/bin/python}
KUBECONFORM_VERSION=v0.8.0
KUSTOMIZE_VERSION=v5.6.0   # v5.7+ needs Go 1.27
K8S_VERSION=1.32.0
mkdir -p "$tools/bin"

need_go() {
  command -v go >/dev/null 2>&1 && return
  echo "tools.sh: Go is needed to install $1 (apt-get install golang-go, or https://go.dev/dl)" >&2
  exit 1
}
if [ ! -x "$tools/bin/kubeconform" ] || [ "$(cat "$tools/bin/.kubeconform" 2>/dev/null)" != "$KUBECONFORM_VERSION" ]; then
  need_go kubeconform
  GOBIN="$tools/bin" GOFLAGS=-buildvcs=false go install "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION" >&2
  echo "$KUBECONFORM_VERSION" > "$tools/bin/.kubeconform"
fi
if [ ! -x "$tools/bin/kustomize" ] || [ "$(cat "$tools/bin/.kustomize" 2>/dev/null)" != "$KUSTOMIZE_VERSION" ]; then
  need_go kustomize
  GOBIN="$tools/bin" GOFLAGS=-buildvcs=false go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" >&2
  echo "$KUSTOMIZE_VERSION" > "$tools/bin/.kustomize"
fi
check_src="$here/composecheck"
check_sum=$(cat "$check_src/main.go" "$check_src/go.mod" "$check_src/go.sum" | sha256sum | cut -c1-16)
if [ ! -x "$tools/bin/composecheck" ] || [ "$(cat "$tools/bin/.composecheck" 2>/dev/null)" != "$check_sum" ]; then
  need_go composecheck
  (cd "$check_src" && GOFLAGS=-buildvcs=false go build -o "$tools/bin/composecheck" .) >&2
  echo "$check_sum" > "$tools/bin/.composecheck"
fi
schemas="$tools/k8s-schemas/v$K8S_VERSION"
if [ ! -f "$schemas/.done" ]; then
  "$py" "$here/k8s_schemas.py" "$K8S_VERSION" "$schemas" >&2
  touch "$schemas/.done"
fi
echo "NEWSFLOW_KUBECONFORM=$tools/bin/kubeconform"
echo "NEWSFLOW_KUSTOMIZE=$tools/bin/kustomize"
echo "NEWSFLOW_COMPOSECHECK=$tools/bin/composecheck"
echo "NEWSFLOW_K8S_SCHEMAS=$schemas"
