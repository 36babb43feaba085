# kubectl-token as a pod's tool: the single binary on distroless with glibc, nothing else.
#
#   docker build --build-arg GIT_COMMIT=$(git rev-parse HEAD) -t kubectl-token .
#
# In a pod it uses the service-account mount and KUBERNETES_SERVICE_HOST/PORT (in-cluster
# config); it needs no shell, no CA bundle and no HOME. tests/release/chroot_test.ts runs the
# program in a root holding only what this image holds (the binary, the libraries ldd lists,
# /proc and the service-account mount) and checks `whoami` and `create` there. For example:
#
#   apiVersion: v1
#   kind: Pod
#   metadata: {name: vault-login}
#   spec:
#     serviceAccountName: builder          # needs "create" on serviceaccounts/token
#     restartPolicy: Never
#     containers:
#       - name: token
#         image: kubectl-token
#         args: ["create", "--audience", "vault", "--duration", "15m"]
#
# The build stage needs the npm registry and the internet (deno compile downloads denort);
# where that is unreachable, COPY a denort binary in and set DENORT_BIN.
FROM node:22-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
ARG GIT_COMMIT=unknown
ENV KUBECTL_TOKEN_BUILD_COMMIT=${GIT_COMMIT}
RUN ./node_modules/.bin/deno task compile

# cc-debian12 = glibc, libgcc_s, libm, libdl, libpthread, librt: what the binary links (ldd).
# The scratch alternative: FROM scratch plus exactly those files, as the chroot test builds.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/dist/kubectl-token /kubectl-token
USER 65532:65532
ENTRYPOINT ["/kubectl-token"]
CMD ["whoami"]
