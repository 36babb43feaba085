/**
 * Kubeconfig files as the tools that write them lay them out (keys, indentation, quoting,
 * empty values), with shortened certificate data. The fast YAML reader must read every one.
 */

const CERT =
  "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJkekNDQVIyZ0F3SUJBZ0lCQURBS0JnZ3Foa2pPUFFRREFqQWpNU0V3SHdZRFZRUUREQmhyTTNNdApjMlZ5ZG1WeUxXTmhRREUzTURBd01EQXdNREF3SGhjTk1qUXdNVEF4TURBd01EQXdXaGNOTXpRd01UQXhNREF3Ck1EQXdXakFqTVNFd0h3WURWUVFEREJock0zTXRjMlZ5ZG1WeUxXTmhRREUzTURBd01EQXdNREF3V1RBVEJnY3EKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=";
const KEY =
  "LS0tLS1CRUdJTiBFQyBQUklWQVRFIEtFWS0tLS0tCk1IY0NBUUVFSUNvbXB1dGVyLWdlbmVyYXRlZC10ZXN0LWtleS1ub3QtcmVhbAotLS0tLUVORCBFQyBQUklWQVRFIEtFWS0tLS0tCg==";

/** Named sample files. */
export const KUBECONFIG_SAMPLES: Record<string, string> = {
  "kind get kubeconfig": `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: ${CERT}
    server: https://127.0.0.1:38111
  name: kind-kind
contexts:
- context:
    cluster: kind-kind
    user: kind-kind
  name: kind-kind
current-context: kind-kind
kind: Config
preferences: {}
users:
- name: kind-kind
  user:
    client-certificate-data: ${CERT}
    client-key-data: ${KEY}
`,
  "k3s /etc/rancher/k3s/k3s.yaml": `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: ${CERT}
    server: https://127.0.0.1:6443
  name: default
contexts:
- context:
    cluster: default
    user: default
  name: default
current-context: default
kind: Config
preferences: {}
users:
- name: default
  user:
    client-certificate-data: ${CERT}
    client-key-data: ${KEY}
`,
  "minikube": `apiVersion: v1
clusters:
- cluster:
    certificate-authority: /home/me/.minikube/ca.crt
    extensions:
    - extension:
        last-update: Wed, 02 Dec 2026 10:00:00 UTC
        provider: minikube.sigs.k8s.io
        version: v1.34.0
      name: cluster_info
    server: https://192.168.49.2:8443
  name: minikube
contexts:
- context:
    cluster: minikube
    extensions:
    - extension:
        last-update: Wed, 02 Dec 2026 10:00:00 UTC
        provider: minikube.sigs.k8s.io
        version: v1.34.0
      name: context_info
    namespace: default
    user: minikube
  name: minikube
current-context: minikube
kind: Config
preferences: {}
users:
- name: minikube
  user:
    client-certificate: /home/me/.minikube/profiles/minikube/client.crt
    client-key: /home/me/.minikube/profiles/minikube/client.key
`,
  "gcloud container clusters get-credentials (short install hint)": `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: ${CERT}
    server: https://34.118.10.20
  name: gke_my-project_us-central1_my-cluster
contexts:
- context:
    cluster: gke_my-project_us-central1_my-cluster
    user: gke_my-project_us-central1_my-cluster
  name: gke_my-project_us-central1_my-cluster
current-context: gke_my-project_us-central1_my-cluster
kind: Config
preferences: {}
users:
- name: gke_my-project_us-central1_my-cluster
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: gke-gcloud-auth-plugin
      installHint: Install gke-gcloud-auth-plugin for use with kubectl
      provideClusterInfo: true
`,
  "aws eks update-kubeconfig": `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: ${CERT}
    server: https://0123456789ABCDEF0123456789ABCDEF.gr7.us-east-1.eks.amazonaws.com
  name: arn:aws:eks:us-east-1:123456789012:cluster/my-cluster
contexts:
- context:
    cluster: arn:aws:eks:us-east-1:123456789012:cluster/my-cluster
    user: arn:aws:eks:us-east-1:123456789012:cluster/my-cluster
  name: arn:aws:eks:us-east-1:123456789012:cluster/my-cluster
current-context: arn:aws:eks:us-east-1:123456789012:cluster/my-cluster
kind: Config
preferences: {}
users:
- name: arn:aws:eks:us-east-1:123456789012:cluster/my-cluster
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      args:
      - --region
      - us-east-1
      - eks
      - get-token
      - --cluster-name
      - my-cluster
      - --output
      - json
      command: aws
      env:
      - name: AWS_PROFILE
        value: dev
`,
  "az aks get-credentials (kubelogin, no install hint)": `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: ${CERT}
    server: https://myaks-dns-1a2b3c4d.hcp.westeurope.azmk8s.io:443
  name: myaks
contexts:
- context:
    cluster: myaks
    user: clusterUser_my-rg_myaks
  name: myaks
current-context: myaks
kind: Config
preferences: {}
users:
- name: clusterUser_my-rg_myaks
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      args:
      - get-token
      - --environment
      - AzurePublicCloud
      - --server-id
      - 6dae42f8-4368-4678-94ff-3960e28e3630
      - --client-id
      - 80faf920-1908-4b52-b5ef-a8e7bedfc67a
      - --tenant-id
      - 72f988bf-86f1-41af-91ab-2d7cd011db47
      - --login
      - devicecode
      command: kubelogin
      env: null
      provideClusterInfo: false
`,
  "az aks get-credentials --admin": `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: ${CERT}
    server: https://myaks-dns-1a2b3c4d.hcp.westeurope.azmk8s.io:443
  name: myaks
contexts:
- context:
    cluster: myaks
    user: clusterAdmin_my-rg_myaks
  name: myaks-admin
current-context: myaks-admin
kind: Config
preferences: {}
users:
- name: clusterAdmin_my-rg_myaks
  user:
    client-certificate-data: ${CERT}
    client-key-data: ${KEY}
    token: 0123abcd89ef4567aaaabbbbccccdddd0123abcd89ef4567aaaabbbbccccdddd
`,
  "kubectl config view --raw of an empty file": `apiVersion: v1
clusters: null
contexts: null
current-context: ""
kind: Config
preferences: {}
users: null
`,
  "a hand-edited file: comments, CRLF, quotes, a leading ---": [
    "\uFEFF---",
    "# my clusters",
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "  - name: 'prod'   # the real one",
    "    cluster:",
    '      server: "https://[::1]:6443"',
    "      insecure-skip-tls-verify: true",
    "",
    "users:",
    "  - name: me",
    "    user:",
    '      token: "abc\\u00e9\\/\\"x\\""',
    "      as-groups: []",
    "contexts:",
    "  - name: main",
    "    context:",
    "      cluster: prod",
    "      user: me",
    "      namespace: it's-mine",
    "current-context: main",
    "",
  ].join("\r\n"),
};
