#!/usr/bin/env bash
# From a fresh clone to a runnable CLI: the pinned Node.js (scripts/node.sh: fetched from
# the npm registry once, then cached), the locked npm packages (npm ci) and dist/ (build).
# Run it again after pulling changes. Then: ./scripts/socklens scan
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/node.sh
source scripts/node.sh
echo "setup: Node.js $(node --version) from $SOCKLENS_NODE_BIN, npm $(npm --version)" >&2
npm ci --no-audit --no-fund --loglevel=error
npm run build --silent
echo "setup: done; run ./scripts/socklens scan" >&2
