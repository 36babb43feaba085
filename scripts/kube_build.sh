#!/usr/bin/env bash
# Builds kube-apiserver and kube-controller-manager 1.20.2 from Debian's source package (bookworm),
# for the end-to-end suite against a real API server (scripts/kube_up.sh, `deno task test:real`).
#
# The binaries are cached under ${KUBECTL_TOKEN_CACHE:-~/.cache/kubectl-token}/kube-<version>-<recipe>/bin,
# where <recipe> is a hash of the build function below: change the recipe and the cache key
# changes with it. Idempotent: with a cached build it only checks the apt packages and prints the
# folder. Needs root (or sudo) for apt-get when packages are missing. Prints the bin folder last.
#
#   scripts/kube_build.sh            # build or reuse; last line of stdout: the bin folder
#   scripts/kube_build.sh --print    # print the bin folder if cached, exit 1 otherwise
set -euo pipefail

KUBE_VERSION=1.20.2
CACHE_ROOT=${KUBECTL_TOKEN_CACHE:-${HOME}/.cache/kubectl-token}
# Runtime packages (kube_up.sh) and build packages.
RUN_PACKAGES=(etcd-server openssl)
BUILD_PACKAGES=(golang-go rsync dpkg-dev golang-github-modern-go-reflect2-dev)

log() { printf '[kube_build %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

missing_packages() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
  done
}

ensure_deb_src() {
  if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ &&
    ! grep -qs '^deb-src' /etc/apt/sources.list; then
    # The same mirror as the machine's own "deb" entry for the main archive.
    local uri
    uri=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' |
      grep -v -- '-security' | head -n 1)
    [ -n "$uri" ] || uri=$(grep -hs '^deb ' /etc/apt/sources.list | awk '{print $2}' |
      grep -v -- '-security' | head -n 1)
    [ -n "$uri" ] || { log "no Debian mirror in the apt sources to add a deb-src entry for"; exit 1; }
    log "adding a deb-src entry for bookworm main ($uri)"
    printf 'Types: deb-src\nURIs: %s\nSuites: bookworm\nComponents: main\nSigned-By: %s\n' \
      "$uri" /usr/share/keyrings/debian-archive-keyring.gpg |
      as_root tee /etc/apt/sources.list.d/kubectl-token-src.sources >/dev/null
  fi
}

APT_UPDATED=
ensure_packages() {
  local missing
  missing=$(missing_packages "$@")
  [[ -z $missing ]] && return 0
  if [[ -z $APT_UPDATED ]]; then
    log "apt-get update"
    as_root apt-get update -qq
    APT_UPDATED=1
  fi
  # shellcheck disable=SC2086
  log "installing:" $missing
  # shellcheck disable=SC2086
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

# The build recipe. Its text (without comments) keys the cache: edit it and the next run rebuilds.
build_from_source() {
  local work=$1 out=$2
  cd "$work"
  apt-get source --download-only "kubernetes" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2 || true
  local dsc
  dsc=$(ls kubernetes_*.dsc)
  dpkg-source -x --no-check "$dsc" src >/dev/null
  cd src
  grep -q "tag: v${KUBE_VERSION}'" hack/lib/version.sh
  # The vendored reflect2 1.0.1 crashes under Go 1.18+ (SIGSEGV in UnsafeIterate) when the server
  # pretty-prints or YAML-encodes a map; Debian's 1.0.2 works.
  rm -rf vendor/github.com/modern-go/reflect2
  cp -r /usr/share/gocode/src/github.com/modern-go/reflect2 vendor/github.com/modern-go/reflect2
  # Version stamping through the tree's own -ldflags machinery (hack/lib/version.sh).
  cat >.kube-version <<EOF
KUBE_GIT_COMMIT='faecb196815e248d3ecfb03c680a4507229c2a56'
KUBE_GIT_TREE_STATE='clean'
KUBE_GIT_VERSION='v${KUBE_VERSION}'
KUBE_GIT_MAJOR='1'
KUBE_GIT_MINOR='20'
EOF
  # GOPATH mode, as Debian's debian/rules builds it.
  mkdir -p .go/src/k8s.io
  ln -sfn ../../.. .go/src/k8s.io/kubernetes
  GOPATH=$PWD/.go GO111MODULE=off CGO_ENABLED=0 KUBE_GIT_VERSION_FILE=$PWD/.kube-version \
    nice -n 15 make WHAT="cmd/kube-apiserver cmd/kube-controller-manager" >&2
  mkdir -p "$out/bin"
  cp _output/bin/kube-apiserver _output/bin/kube-controller-manager "$out/bin/"
  "$out/bin/kube-apiserver" --version | grep -qx "Kubernetes v${KUBE_VERSION}"
}

recipe_key() {
  { echo "$KUBE_VERSION"; declare -f build_from_source; } | sha256sum | cut -c1-12
}

OUT="${CACHE_ROOT}/kube-${KUBE_VERSION}-$(recipe_key)"
BIN="${OUT}/bin"

if [[ ${1-} == --print ]]; then
  [[ -x $BIN/kube-apiserver && -x $BIN/kube-controller-manager ]] || exit 1
  echo "$BIN"
  exit 0
fi

ensure_packages "${RUN_PACKAGES[@]}"

if [[ -x $BIN/kube-apiserver && -x $BIN/kube-controller-manager ]]; then
  log "cached: $BIN ($("$BIN/kube-apiserver" --version))"
  echo "$BIN"
  exit 0
fi

START=$(date +%s)
log "building kube-apiserver and kube-controller-manager ${KUBE_VERSION} into $OUT"
ensure_deb_src
ensure_packages "${BUILD_PACKAGES[@]}"
if ! apt-cache showsrc kubernetes 2>/dev/null | grep -q "^Version:.*${KUBE_VERSION}"; then
  log "apt-get update (no source package for kubernetes ${KUBE_VERSION} known yet)"
  as_root apt-get update -qq
fi
mkdir -p "$CACHE_ROOT"
WORK=$(mktemp -d "${CACHE_ROOT}/build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
TMP_OUT="${WORK}/out"
log "source, patches and the Go build (nice; about 5 minutes on 2 cores, more on a busy machine)"
(build_from_source "$WORK" "$TMP_OUT")
rm -rf "$OUT"
mv "$TMP_OUT" "$OUT"
log "built in $(($(date +%s) - START)) s: $BIN"
echo "$BIN"
