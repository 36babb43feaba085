#!/usr/bin/env bash
# Starts a real Kubernetes control plane on loopback for the end-to-end suite: etcd,
# kube-apiserver and kube-controller-manager (built by scripts/kube_build.sh), on free ports, with
# fresh PKI in a new temporary folder. Waits until the server is ready and the token controller
# works, writes an admin kubeconfig, and prints the folder on stdout (last line).
#
#   dir=$(scripts/kube_up.sh)                 # start; $dir/admin.kubeconfig is cluster-admin
#   KUBECTL_TOKEN_E2E_KUBECONFIG=$dir/admin.kubeconfig npx deno task test
#   scripts/kube_down.sh "$dir"               # stop exactly what this started, remove $dir
#
# The folder holds: admin.kubeconfig, target.json (what the suite cannot discover: see
# tests/e2e/_target.ts), audit.log (the JSON audit log), audit-webhook.kubeconfig (where the
# server POSTs audit batches: 127.0.0.1:<port in target.json>, served with pki/webhook.crt and
# pki/webhook.key), pki/, *.log, *.pid. Set KUBE_BIN to use binaries from elsewhere.
set -Eeuo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
START=$(date +%s)

log() { printf '[kube_up %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

BIN=${KUBE_BIN:-$("$HERE/kube_build.sh" --print || true)}
if [[ -z $BIN || ! -x $BIN/kube-apiserver ]]; then
  echo "kube_up: no kube-apiserver binaries; run scripts/kube_build.sh first" >&2
  exit 1
fi
for tool in etcd openssl kubectl node; do
  command -v "$tool" >/dev/null || {
    echo "kube_up: \"$tool\" is not on PATH (scripts/kube_build.sh installs etcd and openssl)" >&2
    exit 1
  }
done

DIR=$(mktemp -d "${TMPDIR:-/tmp}/kubectl-token-kube.XXXXXX")
chmod 700 "$DIR"
# On any failure: show the logs' tails (not when interrupted) and stop whatever already started.
fail() {
  local f
  [[ ${1-} == --quiet ]] || for f in "$DIR"/*.log; do
    [[ -f $f ]] || continue
    echo "--- $(basename "$f") (last 20 lines)" >&2
    tail -n 20 "$f" >&2
  done
  "$HERE/kube_down.sh" "$DIR" >&2 || true
}
trap fail ERR
trap 'fail --quiet; exit 130' INT TERM

# Free loopback ports, from the kernel (bind to port 0) through node.
read -r ETCD_PORT ETCD_PEER_PORT API_PORT WEBHOOK_PORT < <(node -e '
  const net = require("net");
  const servers = [0, 1, 2, 3].map(() => net.createServer());
  Promise.all(servers.map((s) => new Promise((r) => s.listen(0, "127.0.0.1", () => r(s.address().port)))))
    .then((ports) => { console.log(ports.join(" ")); servers.forEach((s) => s.close()); });')

log "PKI in $DIR/pki"
PKI=$DIR/pki
mkdir -p "$PKI"
(
  cd "$PKI"
  ossl() { openssl "$@" 2>/dev/null; }
  ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt \
    -days 2 -subj "/CN=kubectl-token-e2e-ca" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
  # leaf NAME SUBJECT EXTENDED_KEY_USAGE [SUBJECT_ALT_NAMES]
  leaf() {
    local ext="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=$3"
    [[ -n ${4-} ]] && ext+=$'\n'"subjectAltName=$4"
    ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.csr" \
      -subj "$2"
    ossl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -out "$1.crt" \
      -extfile <(printf '%s\n' "$ext")
    rm -f "$1.csr"
  }
  leaf apiserver "/CN=kube-apiserver" serverAuth \
    "IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  leaf admin "/O=system:masters/CN=kubectl-token-admin" clientAuth
  leaf controller-manager "/CN=system:kube-controller-manager" clientAuth
  # The audit webhook receiver's serving certificate, from a CA of its own that only the
  # API server's webhook kubeconfig trusts.
  ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout webhook-ca.key \
    -out webhook-ca.crt -days 2 -subj "/CN=kubectl-token-e2e-audit-webhook-ca" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
  ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout webhook.key \
    -out webhook.csr -subj "/CN=kubectl-token-audit-webhook"
  ossl x509 -req -in webhook.csr -CA webhook-ca.crt -CAkey webhook-ca.key -CAcreateserial \
    -days 2 -out webhook.crt -extfile <(printf '%s\n' "basicConstraints=critical,CA:FALSE" \
      "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" \
      "subjectAltName=IP:127.0.0.1,DNS:localhost")
  rm -f webhook.csr webhook-ca.key
  chmod 600 webhook.key
  # The service-account signing key (RS256, as kubeadm makes it).
  ossl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out sa.key
  ossl pkey -in sa.key -pubout -out sa.pub
)

kubeconfig() { # FILE USER
  local file=$1 user=$2
  KUBECONFIG=$file kubectl config set-cluster kubectl-token-e2e --server "https://127.0.0.1:$API_PORT" \
    --certificate-authority "$PKI/ca.crt" --embed-certs >/dev/null
  KUBECONFIG=$file kubectl config set-credentials "$user" --client-certificate "$PKI/$user.crt" \
    --client-key "$PKI/$user.key" --embed-certs >/dev/null
  KUBECONFIG=$file kubectl config set-context kubectl-token-e2e --cluster kubectl-token-e2e \
    --user "$user" --namespace default >/dev/null
  KUBECONFIG=$file kubectl config use-context kubectl-token-e2e >/dev/null
  chmod 600 "$file"
}
kubeconfig "$DIR/admin.kubeconfig" admin
kubeconfig "$DIR/controller-manager.kubeconfig" controller-manager

# start NAME COMMAND...: in the background, its own session, pid in NAME.pid, output in NAME.log.
start() {
  local name=$1
  shift
  setsid "$@" >"$DIR/$name.log" 2>&1 </dev/null &
  echo $! >"$DIR/$name.pid"
}

log "etcd on 127.0.0.1:$ETCD_PORT"
start etcd etcd --name e2e --data-dir "$DIR/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster "e2e=http://127.0.0.1:$ETCD_PEER_PORT"

ISSUER=https://kubernetes.default.svc.cluster.local
# The audit log: one audit.k8s.io/v1 Event per request, at Metadata level (who did what, never a
# body), written before the answer is sent (the log backend's default blocking mode). The e2e
# tests count requests in it where they count the local server's request log.
cat >"$DIR/audit-policy.yaml" <<EOF
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
EOF
# The same events also go to a webhook at https://127.0.0.1:$WEBHOOK_PORT in batches (batch mode,
# the webhook backend's default: it never blocks a request; a batch nobody receives is retried
# for a few seconds, then dropped). Tests listen there with pki/webhook.crt and pki/webhook.key.
cat >"$DIR/audit-webhook.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: audit-webhook
  cluster:
    server: https://127.0.0.1:$WEBHOOK_PORT
    certificate-authority: $PKI/webhook-ca.crt
users:
- name: kube-apiserver
  user: {}
contexts:
- name: audit-webhook
  context:
    cluster: audit-webhook
    user: kube-apiserver
current-context: audit-webhook
EOF
log "kube-apiserver on https://127.0.0.1:$API_PORT ($("$BIN/kube-apiserver" --version))"
start kube-apiserver "$BIN/kube-apiserver" \
  --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
  --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$API_PORT" \
  --insecure-port 0 --cert-dir "$DIR/apiserver-certs" \
  --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
  --client-ca-file "$PKI/ca.crt" \
  --authorization-mode RBAC --enable-bootstrap-token-auth \
  --service-account-issuer "$ISSUER" --api-audiences "$ISSUER" \
  --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
  --service-account-max-token-expiration 24h \
  --service-cluster-ip-range 10.0.0.0/24 --endpoint-reconciler-type none \
  --audit-policy-file "$DIR/audit-policy.yaml" --audit-log-path "$DIR/audit.log" \
  --audit-log-format json \
  --audit-webhook-config-file "$DIR/audit-webhook.kubeconfig" --audit-webhook-mode batch \
  --audit-webhook-batch-max-wait 1s --audit-webhook-initial-backoff 1s

admin() { KUBECACHEDIR=$DIR/kube-cache kubectl --kubeconfig "$DIR/admin.kubeconfig" "$@"; }
# wait_for WHAT SECONDS COMMAND...
wait_for() {
  local what=$1 limit=$2 i
  shift 2
  for ((i = 0; i < limit * 2; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    local name
    for name in etcd kube-apiserver kube-controller-manager; do
      if [[ -f $DIR/$name.pid ]] && ! kill -0 "$(cat "$DIR/$name.pid")" 2>/dev/null; then
        log "$name exited while waiting for $what"
        return 1
      fi
    done
    sleep 0.5
  done
  log "gave up waiting for $what after ${limit} s"
  return 1
}
wait_for "kube-apiserver /readyz" 180 admin get --raw /readyz
# The bootstrap RBAC roles the controllers need exist once the server is ready.
log "kube-apiserver ready after $(($(date +%s) - START)) s"

start kube-controller-manager "$BIN/kube-controller-manager" \
  --kubeconfig "$DIR/controller-manager.kubeconfig" \
  --controllers '*,bootstrapsigner,tokencleaner' \
  --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
  --use-service-account-credentials --leader-elect=false \
  --cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" \
  --port 0 --secure-port 0
# Ready when the service-account and token controllers have done their work in "default".
default_token_ready() {
  local secret
  secret=$(admin get serviceaccount default -n default -o 'jsonpath={.secrets[0].name}')
  [[ -n $secret ]] && [[ -n $(admin get secret "$secret" -n default -o 'jsonpath={.data.token}') ]]
}
wait_for "the token controller" 180 default_token_ready

# As kubeadm does: kube-public/cluster-info holds a kubeconfig with the server and its CA, readable
# anonymously; the bootstrap signer adds a jws-kubeconfig-<token-id> signature per signing token.
cat >"$DIR/cluster-info.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: ""
  cluster:
    certificate-authority-data: $(base64 -w0 "$PKI/ca.crt")
    server: https://127.0.0.1:$API_PORT
contexts: null
current-context: ""
preferences: {}
users: null
EOF
admin create configmap cluster-info -n kube-public --from-file "kubeconfig=$DIR/cluster-info.kubeconfig" >/dev/null
admin create role kubeadm:bootstrap-signer-clusterinfo -n kube-public --verb get \
  --resource configmaps --resource-name cluster-info >/dev/null
admin create rolebinding kubeadm:bootstrap-signer-clusterinfo -n kube-public \
  --role kubeadm:bootstrap-signer-clusterinfo --user system:anonymous >/dev/null

cat >"$DIR/target.json" <<EOF
{
  "kind": "real",
  "bootstrapTokenAuth": true,
  "bootstrapControllers": true,
  "maxTokenExpirationSeconds": 86400,
  "auditLog": "$DIR/audit.log",
  "auditWebhook": {
    "listen": "127.0.0.1:$WEBHOOK_PORT",
    "certFile": "$PKI/webhook.crt",
    "keyFile": "$PKI/webhook.key"
  }
}
EOF
log "ready after $(($(date +%s) - START)) s: KUBECONFIG=$DIR/admin.kubeconfig"
trap - ERR INT TERM
echo "$DIR"
