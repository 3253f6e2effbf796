# socklens: the node agent, the operator and the CLI (same entry point). docs/image.md.
#   docker build -t socklens .            (or podman build / buildah bud)
#   npm run image                         (here: no registry; builds a stand-in base first)
# Every stage runs the Node.js LTS pinned in .node-version (docs/adr/0005-node-runtime.md);
# test/unit/runtime-pin.test.ts fails when NODE_VERSION here differs from it.
ARG NODE_VERSION=24.21.0
# The Node base of every stage. Any Debian-based image with that node and npm on PATH will
# do; scripts/image.sh passes a locally built stand-in where no registry is reachable.
ARG NODE_IMAGE=node:${NODE_VERSION}-bookworm-slim

FROM ${NODE_IMAGE} AS build
ENV NPM_CONFIG_UPDATE_NOTIFIER=false
WORKDIR /src
COPY package.json package-lock.json ./
# Behind a TLS-inspecting proxy, pass its CA bundle as a build secret (never a layer):
#   --secret id=ca-certificates,src=/etc/ssl/certs/ca-certificates.crt (scripts/image.sh does).
RUN --mount=type=secret,id=ca-certificates,target=/run/secrets/ca-certificates \
  if [ -s /run/secrets/ca-certificates ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/ca-certificates; fi; \
  npm ci --no-audit --no-fund --loglevel=error
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# Type declarations, source maps, TypeScript sources and READMEs are for editors: about
# 100 of the 167 MB the production dependencies take (docs/image.md).
RUN npm run build && npm prune --omit=dev --no-audit --no-fund --loglevel=error \
  && find node_modules -type f \( -name '*.ts' -o -name '*.mts' -o -name '*.cts' -o -name '*.map' -o -name '*.md' \) -delete

# The application tree, shared by both runtime variants below.
FROM scratch AS app
COPY --from=build /src/node_modules /app/node_modules
COPY --from=build /src/dist /app/dist
COPY package.json /app/
COPY bin /app/bin
COPY crds /app/crds

# Variant "slim": the whole Node base (Debian, a shell, apt, npm). Bigger; for debugging:
# docker build --target slim. Sizes of both: docs/image.md.
FROM ${NODE_IMAGE} AS slim
COPY --from=app /app /app

# What the default variant keeps of the base: node and the shared libraries it links
# (found with ldd, so any architecture works), and two users. No shell, no package manager:
# socklens starts no programs (docs/adr/0011-container-image.md).
FROM ${NODE_IMAGE} AS runtime-root
RUN set -eu; mkdir -p /rootfs/usr/local/bin /rootfs/etc /rootfs/tmp; \
  cp /usr/local/bin/node /rootfs/usr/local/bin/node; \
  for lib in $(ldd /usr/local/bin/node | grep -oE '/[^ ]+'); do cp -L --parents "$lib" /rootfs/; done; \
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >/rootfs/etc/passwd; \
  printf 'root:x:0:\nnonroot:x:65532:\n' >/rootfs/etc/group; \
  chmod 1777 /rootfs/tmp

# The default: distroless-style.
FROM scratch
COPY --from=runtime-root /rootfs /
COPY --from=app /app /app
WORKDIR /app
# The DaemonSet mounts the host's /proc read-only at /host/proc (see charts/).
ENV PATH=/usr/local/bin HOST_PROC=/host/proc HOST_RUN_NETNS=/host/run/netns \
  HOST_PASSWD=/host/etc/passwd NODE_ENV=production
# Unprivileged by default (the operator and the CLI need nothing more; uid 65532 as the
# chart's operator). The agent's DaemonSet runs it as uid 0 with two capabilities, because
# nothing less works: docs/adr/0012-agent-user-and-capabilities.md.
USER 65532:65532
# A small young generation keeps the resident scanner's RSS near its live set (bench/README.md).
ENTRYPOINT ["node", "--max-semi-space-size=2", "--max-old-space-size=128", "bin/socklens.js"]
CMD ["scan"]
