#!/usr/bin/env bash
# The end-to-end suite against a real kube-apiserver 1.20.2: builds it or reuses the cached
# build (scripts/kube_build.sh), starts it (scripts/kube_up.sh), runs tests/e2e/ with
# KUBECTL_TOKEN_E2E_KUBECONFIG pointing at it, and stops everything it started, also on failure.
# Extra arguments go to `deno test` (e.g. --filter whoami). KEEP_KUBE=1 keeps the folder (logs).
#
#   npx deno task test:real
set -Eeuo pipefail
cd "$(dirname "$0")/.."
DENO=./node_modules/.bin/deno
log() { printf '[test:real %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

T0=$(date +%s)
T1='' T2='' T3='' DIR=''
finish() {
  local code=$?
  set +e
  if [[ -n $DIR ]]; then
    if [[ $code -ne 0 ]]; then
      for f in "$DIR"/kube-apiserver.log "$DIR"/kube-controller-manager.log; do
        [[ -f $f ]] && { echo "--- $(basename "$f") (last 15 lines)" >&2; tail -n 15 "$f" >&2; }
      done
    fi
    scripts/kube_down.sh "$DIR" ${KEEP_KUBE:+--keep}
  fi
  local now
  now=$(date +%s)
  log "timings: build or reuse $((${T1:-$now} - T0)) s, start $((${T2:-$now} - ${T1:-$now})) s," \
    "e2e $((${T3:-$now} - ${T2:-$now})) s, total $((now - T0)) s; exit $code"
  exit "$code"
}
trap finish EXIT
trap 'exit 130' INT TERM

scripts/kube_build.sh >/dev/null
T1=$(date +%s)
DIR=$(scripts/kube_up.sh)
T2=$(date +%s)
log "running tests/e2e against $DIR/admin.kubeconfig"
status=0
KUBECTL_TOKEN_E2E_KUBECONFIG=$DIR/admin.kubeconfig KUBECTL_TOKEN_E2E_TARGET=$DIR/target.json \
  "$DENO" test --allow-all --frozen tests/e2e/ "$@" || status=$?
T3=$(date +%s)
exit "$status"
