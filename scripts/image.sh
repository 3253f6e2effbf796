#!/usr/bin/env bash
# `npm run image`: builds the socklens image from the repository's Dockerfile, unchanged, as
# localhost/socklens:dev — on a machine of our kind (Debian 12, root, no registry reachable)
# as well as anywhere else. See docs/image.md and docs/adr/0011-container-image.md.
#
#   scripts/image.sh              install buildah/podman/runc/debootstrap if missing, build
#                                 the Node base stand-in if missing, build the image
#   scripts/image.sh --base-only  only the stand-in base
#   scripts/image.sh --check      exit 0 when the image exists and matches this checkout
#
# The Dockerfile's base is a build argument (NODE_IMAGE, default the official
# node:<version>-bookworm-slim). No registry is reachable here, so this script builds a
# stand-in for that base from Debian packages and the official Node binary (the npm
# registry's node-linux-<arch> package, fetched by scripts/node.sh) and tags it
# localhost/socklens-standin/node:<version>-bookworm-slim — a name of its own, so it never
# shadows the real docker.io/library/node. The build then passes
# --build-arg NODE_IMAGE=<that> --pull=never. Where the official image can be pulled,
# SOCKLENS_IMAGE_BASE=official skips the stand-in and builds on the real one.
#
# Caches: the stand-in image and the build's layers stay in podman's storage
# (/var/lib/containers); the Debian rootfs tarball in /var/cache/socklens-image/. A changed
# .node-version, Debian suite or this script's stand-in recipe makes a new stand-in.
# Environment: SOCKLENS_IMAGE (default localhost/socklens:dev), SOCKLENS_IMAGE_CACHE.
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE="${SOCKLENS_IMAGE:-localhost/socklens:dev}"
CACHE="${SOCKLENS_IMAGE_CACHE:-/var/cache/socklens-image}"
SUITE=bookworm
MIRROR="${SOCKLENS_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
NODE_VERSION="$(tr -d '[:space:]' <.node-version)"
STANDIN="localhost/socklens-standin/node:${NODE_VERSION}-${SUITE}-slim"
# Bump when the stand-in recipe below changes: the label makes a stale stand-in rebuild.
STANDIN_RECIPE=1
# podman's defaults do not work on this machine kind: crun refuses the hybrid cgroup
# layout, and the default ulimits exceed the VM's hard limits (docs/image.md).
RUNTIME=(--runtime runc)
ULIMITS=(--ulimit "nofile=16384:16384" --ulimit "nproc=4096:4096")

log() { printf '[image] %s (%s)\n' "$*" "$(date -u +%H:%M:%S)" >&2; }
die() {
  printf '[image] error: %s\n' "$*" >&2
  exit 1
}

need_tools() {
  local missing=()
  command -v buildah >/dev/null || missing+=(buildah)
  command -v podman >/dev/null || missing+=(podman)
  command -v runc >/dev/null || missing+=(runc)
  [[ "${SOCKLENS_IMAGE_BASE:-standin}" == official ]] || command -v debootstrap >/dev/null || missing+=(debootstrap)
  ((${#missing[@]})) || return 0
  ((EUID == 0)) || die "missing ${missing[*]}; install them (apt-get install ${missing[*]}) or run as root"
  command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get to install them"
  log "apt-get install ${missing[*]}"
  apt-get update -qq
  # Without recommends (crun among them, which this VM's hybrid cgroups refuse); the rest is
  # what podman needs for its networks (netavark; the tests use none and host, buildah's
  # RUN steps the default bridge for npm ci) — the set the tests were written against.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" uidmap slirp4netns fuse-overlayfs netavark aardvark-dns \
    containernetworking-plugins iptables >/dev/null
}

# The stand-in's identity: everything it is built from. A different key, a new stand-in.
standin_key() {
  printf '%s\n' "recipe=$STANDIN_RECIPE" "suite=$SUITE" "node=$NODE_VERSION" "arch=$(uname -m)"
}

standin_current() {
  local have
  have="$(podman image inspect --format '{{index .Labels "io.socklens.standin.key"}}' "$STANDIN" 2>/dev/null)" || return 1
  [[ "$have" == "$(standin_key | sha256sum | cut -c1-16)" ]]
}

# A minimal Debian rootfs, as debian:<suite>-slim is made: debootstrap --variant=minbase,
# then without docs, man pages and locales, and with dpkg told to keep them out.
debian_rootfs() {
  local tarball
  tarball="$CACHE/debian-$SUITE-minbase-$(uname -m).tar"
  if [[ -s "$tarball" ]]; then
    echo "$tarball"
    return 0
  fi
  local dir
  dir="$(mktemp -d "$CACHE/rootfs.XXXXXX")"
  log "debootstrap --variant=minbase $SUITE from $MIRROR (once; cached in $tarball)"
  debootstrap --variant=minbase "$SUITE" "$dir" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 ||
    die "debootstrap failed; see $CACHE/debootstrap.log"
  cat >"$dir/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
  find "$dir/usr/share/doc" -mindepth 2 ! -name copyright -type f -delete 2>/dev/null || true
  rm -rf "$dir"/usr/share/{man,info}/* "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin \
    "$dir"/var/cache/apt/archives/*.deb "$dir"/var/log/*.log "$dir"/var/log/apt/*
  find "$dir/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
  printf 'deb %s %s main\ndeb http://deb.debian.org/debian-security %s-security main\n' \
    "http://deb.debian.org/debian" "$SUITE" "$SUITE" >"$dir/etc/apt/sources.list"
  : >"$dir/etc/hostname"
  : >"$dir/etc/resolv.conf"
  tar --numeric-owner -C "$dir" -cf "$tarball.partial" .
  mv "$tarball.partial" "$tarball"
  rm -rf "$dir"
  echo "$tarball"
}

# The official image's /usr/local: node (the same binary nodejs.org ships, from the npm
# registry's node-linux-<arch> package), and the npm it bundles, plus the `node` user.
build_standin() {
  local rootfs node_dir npm_version work ctr
  mkdir -p "$CACHE"
  rootfs="$(debian_rootfs)"
  node_dir="$(scripts/node.sh)/.."
  node_dir="$(cd "$node_dir" && pwd)"
  # The release's CHANGELOG lists npm upgrades newest first; the first is the bundled npm.
  npm_version="$(grep -m1 -oE 'upgrade npm to [0-9]+\.[0-9]+\.[0-9]+' "$node_dir/CHANGELOG.md" | awk '{print $4}')"
  [[ -n "$npm_version" ]] || die "cannot tell which npm Node.js $NODE_VERSION bundles (no 'upgrade npm to' in its CHANGELOG.md)"
  work="$(mktemp -d "$CACHE/standin.XXXXXX")"
  trap 'rm -rf "$work"' RETURN
  log "stand-in base $STANDIN: Debian $SUITE minbase + Node.js $NODE_VERSION + npm $npm_version"
  mkdir -p "$work/usr/local/bin" "$work/usr/local/lib/node_modules" "$work/usr/local/include"
  cp "$node_dir/bin/node" "$work/usr/local/bin/node"
  cp -r "$node_dir/include/node" "$work/usr/local/include/" 2>/dev/null || true
  (cd "$work" && npm pack "npm@$npm_version" --loglevel=error >/dev/null &&
    mkdir -p usr/local/lib/node_modules/npm &&
    tar -xzf "npm-$npm_version.tgz" -C usr/local/lib/node_modules/npm --strip-components=1 --no-same-owner &&
    rm "npm-$npm_version.tgz") || die "could not fetch npm@$npm_version from the npm registry"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$work/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$work/usr/local/bin/npx"
  tar -C "$work" -cf "$work/node.tar" usr

  ctr="$(buildah from --pull=never scratch)"
  # shellcheck disable=SC2064
  trap "buildah rm '$ctr' >/dev/null 2>&1 || true; rm -rf '$work'" RETURN
  buildah add "$ctr" "$rootfs" / >/dev/null
  buildah add "$ctr" "$work/node.tar" / >/dev/null
  # As the official image: a `node` user and group with id 1000.
  buildah run "${RUNTIME[@]}" --network=none "$ctr" -- sh -c \
    'groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node && node --version && npm --version' >&2
  buildah config \
    --env "NODE_VERSION=$NODE_VERSION" \
    --env "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    --cmd '["node"]' \
    --label "io.socklens.standin=a stand-in for node:${NODE_VERSION}-${SUITE}-slim built by scripts/image.sh (Debian minbase + the official Node.js binary from the npm registry)" \
    --label "io.socklens.standin.key=$(standin_key | sha256sum | cut -c1-16)" \
    "$ctr"
  buildah commit --rm "$ctr" "$STANDIN" >/dev/null
  log "stand-in base ready: $(podman image inspect --format '{{.Size}}' "$STANDIN") bytes"
}

build_image() {
  local args=(--layers --pull=never "${RUNTIME[@]}" "${ULIMITS[@]}" -t "$IMAGE" -f Dockerfile)
  if [[ "${SOCKLENS_IMAGE_BASE:-standin}" != official ]]; then
    args+=(--build-arg "NODE_IMAGE=$STANDIN")
  else
    args=("${args[@]/--pull=never/--pull=missing}")
  fi
  # A TLS-inspecting proxy's CA (this machine kind has one) reaches npm ci as a build secret.
  local ca="${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}"
  [[ -s "$ca" ]] && args+=(--secret "id=ca-certificates,src=$ca")
  # Labels tie the image to the checkout; --check and the tests compare them.
  args+=(--label "io.socklens.source=$(source_key)")
  log "buildah bud ${args[*]} ."
  buildah bud "${args[@]}" . >&2
  log "built $IMAGE: $(podman image inspect --format '{{.Size}}' "$IMAGE") bytes"
}

# What the image is made of: the contents of what the Dockerfile copies, and itself.
source_key() {
  {
    find Dockerfile .dockerignore package.json package-lock.json tsconfig.json tsconfig.build.json \
      src bin crds -type f -print0 | sort -z | xargs -0 sha256sum
    echo "$NODE_VERSION"
  } | sha256sum | cut -c1-16
}

image_current() {
  local have
  have="$(podman image inspect --format '{{index .Labels "io.socklens.source"}}' "$IMAGE" 2>/dev/null)" || return 1
  [[ "$have" == "$(source_key)" ]]
}

case "${1:-}" in
  --check)
    image_current
    exit
    ;;
  --base-only | "") ;;
  *) die "usage: scripts/image.sh [--base-only|--check]" ;;
esac

started=$SECONDS
need_tools
if [[ "${SOCKLENS_IMAGE_BASE:-standin}" != official ]]; then
  if standin_current; then
    log "stand-in base $STANDIN is current"
  else
    build_standin
  fi
fi
[[ "${1:-}" == --base-only ]] && exit 0
if image_current && [[ "${SOCKLENS_IMAGE_REBUILD:-}" != 1 ]]; then
  log "$IMAGE is current (label io.socklens.source=$(source_key)); SOCKLENS_IMAGE_REBUILD=1 rebuilds"
  exit 0
fi
build_image
log "done in $((SECONDS - started)) s: $IMAGE"
