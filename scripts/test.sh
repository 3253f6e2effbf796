#!/usr/bin/env bash
# The one command that sets up everything the tests need on a fresh machine
# (Debian, root, any Node.js with npm, Go) and runs the whole suite. `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s (%s)\n' "$*" "$(date -u +%H:%M:%S)"; }

# Everything below (npm ci, tsc, biome, vitest and the processes the tests spawn) runs on
# the pinned Node.js LTS in .node-version, fetched from the npm registry on first use.
log "Node.js $(tr -d '[:space:]' <.node-version) (scripts/node.sh)"
# shellcheck source=scripts/node.sh
source scripts/node.sh
echo "node $(node --version) from $SOCKLENS_NODE_BIN, npm $(npm --version)"

# Only what the tests use: ip and ss (host tests). netstat and lsof are for the benchmark
# only (bench/README.md), so a missing mirror cannot fail the suite over them.
need_apt=()
command -v ip >/dev/null || need_apt+=(iproute2)
command -v ss >/dev/null || need_apt+=(iproute2)
if ((${#need_apt[@]})); then
  log "apt-get install ${need_apt[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

log "npm ci"
npm ci --no-audit --no-fund --loglevel=error

if [[ -x test/cluster/build-tools.sh ]]; then
  log "build or reuse kube-apiserver, etcd, helm, otelcol"
  test/cluster/build-tools.sh
fi

log "build"
npm run build

# The container image (docs/image.md): buildah/podman/runc/debootstrap from apt when missing,
# the Node base stand-in and the build's layers cached in /var/lib/containers and
# /var/cache/socklens-image. The image and e2e tests run it. A failed build does not stop
# the run: those tests then skip and print this reason (SOCKLENS_IMAGE_SKIP), and this log
# shows the build's error.
log "image (scripts/image.sh)"
if ! scripts/image.sh; then
  export SOCKLENS_IMAGE_SKIP="scripts/image.sh failed in this run (its output is in the CI log above)"
  echo "scripts/test.sh: $SOCKLENS_IMAGE_SKIP; the image and e2e tests will skip" >&2
fi

log "lint"
npm run lint

log "test"
npx vitest run
