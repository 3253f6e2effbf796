# socklens: the CLI today, the node agent and operator image later (same entry point).
# Not built in CI here (no container engine on our machines); `docker build .` elsewhere.
# Both stages run the Node.js LTS pinned in .node-version (docs/adr/0005-node-runtime.md);
# test/unit/runtime-pin.test.ts fails when NODE_VERSION here differs from it.
ARG NODE_VERSION=24.21.0
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:${NODE_VERSION}-bookworm-slim
WORKDIR /app
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY crds ./crds
# The DaemonSet mounts the host's /proc read-only at /host/proc (see charts/).
ENV HOST_PROC=/host/proc HOST_RUN_NETNS=/host/run/netns HOST_PASSWD=/host/etc/passwd
# A small young generation keeps the resident scanner's RSS near its live set (bench/README.md).
ENTRYPOINT ["node", "--max-semi-space-size=2", "--max-old-space-size=128", "bin/socklens.js"]
CMD ["scan"]
