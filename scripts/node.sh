#!/usr/bin/env bash
# The pinned Node.js for everything in this repo: the version in .node-version, a
# Node LTS (docs/adr/0005-node-runtime.md), taken from the npm registry's node-linux-<arch>
# package (the official binary; npm checks the registry's sha512 while fetching it) and
# kept for later runs in ~/.cache/socklens-node/<version>-linux-<arch>/, or for root in
# /var/cache/socklens-node/<version>-linux-<arch>/.
#
#   source scripts/node.sh        the pinned node first on this shell's PATH (bash)
#   scripts/node.sh CMD [ARG...]  run CMD with it first on PATH (e.g. scripts/node.sh npm run bench)
#   scripts/node.sh               install if needed, print its bin dir
#
# Fetching needs any npm on PATH (the machine's Node 20 and npm 11 will do) and the npm
# registry; once cached, neither. A node already on PATH with exactly the pinned version
# (the Docker image, nvm/fnm reading .node-version) is used as it is.
# SOCKLENS_NODE_CACHE moves the cache; deleting the folder resets it.

socklens_node_setup() {
  local root want arch cache dir bin have tmp codename
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  want="$(tr -d '[:space:]' <"$root/.node-version")"
  if [[ ! "$want" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
    echo "scripts/node.sh: .node-version must hold one exact version like 24.21.0, not '$want'" >&2
    return 1
  fi

  have="$(node --version 2>/dev/null || true)"
  if [[ "$have" == "v$want" ]]; then
    SOCKLENS_NODE_BIN="$(dirname "$(command -v node)")"
    return 0
  fi

  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) arch=x64 ;;
    Linux-aarch64 | Linux-arm64) arch=arm64 ;;
    *)
      echo "scripts/node.sh: no Node.js package for $(uname -s) $(uname -m); install Node.js $want yourself" >&2
      return 1
      ;;
  esac
  # Root's cache is /var/cache, not ~/.cache: /root is 0700 on Debian, and this node must also
  # run socklens as an unprivileged user (test/host/permissions.test.ts does, as uid 65534).
  cache="${XDG_CACHE_HOME:-$HOME/.cache}/socklens-node"
  ((EUID)) || cache=/var/cache/socklens-node
  dir="${SOCKLENS_NODE_CACHE:-$cache}/$want-linux-$arch"
  bin="$dir/bin"

  if [[ "$("$bin/node" --version 2>/dev/null)" != "v$want" ]]; then
    if ! command -v npm >/dev/null; then
      echo "scripts/node.sh: Node.js $want is not in $dir and there is no npm on PATH to fetch it" \
        "from the npm registry (package node-linux-$arch@$want); install any Node.js with npm first" >&2
      return 1
    fi
    echo "scripts/node.sh: installing Node.js $want (npm package node-linux-$arch@$want) into $dir" >&2
    mkdir -p "$(dirname "$dir")"
    # Unpack next to the final place and rename when it runs: an interrupted or concurrent
    # install never leaves a half-written node where the fast path would take it.
    tmp="$(mktemp -d "$dir.partial.XXXXXX")" && chmod 755 "$tmp"
    if ! (cd "$tmp" && npm pack "node-linux-$arch@$want" --loglevel=error --no-audit --no-fund >/dev/null &&
      tar -xzf "node-linux-$arch-$want.tgz" --strip-components=1 --no-same-owner &&
      rm "node-linux-$arch-$want.tgz"); then
      rm -rf "$tmp"
      echo "scripts/node.sh: could not fetch or unpack node-linux-$arch@$want from the npm registry" >&2
      return 1
    fi
    have="$("$tmp/bin/node" --version 2>&1 || true)"
    if [[ "$have" != "v$want" ]]; then
      rm -rf "$tmp"
      echo "scripts/node.sh: the downloaded node does not run or is not v$want: $have" >&2
      return 1
    fi
    if ! mv -T "$tmp" "$dir" 2>/dev/null; then
      if [[ "$("$bin/node" --version 2>/dev/null)" == "v$want" ]]; then
        rm -rf "$tmp" # a concurrent run got there first
      else
        # A broken install from an older script or a full disk: set it aside, then take its place.
        if ! { mv -T "$dir" "$dir.broken.$$" && rm -rf "$dir.broken.$$" && mv -T "$tmp" "$dir"; }; then
          rm -rf "$tmp"
          echo "scripts/node.sh: could not replace the broken $dir; delete it and retry" >&2
          return 1
        fi
      fi
    fi
    codename="$("$bin/node" -p 'process.release.lts || "not an LTS release"')"
    echo "scripts/node.sh: Node.js $want ($codename) ready" >&2
  fi
  SOCKLENS_NODE_BIN="$bin"
  export PATH="$bin:$PATH"
}

if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then
  socklens_node_setup
else
  set -euo pipefail
  socklens_node_setup
  if (($#)); then
    exec "$@"
  fi
  echo "$SOCKLENS_NODE_BIN"
fi
