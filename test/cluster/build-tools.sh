#!/usr/bin/env bash
# Builds (or reuses) the real tools the cluster tests run: kube-apiserver, etcd, helm, an
# OpenTelemetry Collector, kube-controller-manager (garbage collector) and helm-docs, all from Go modules with the machine's Go toolchain — there
# is no container engine and no prebuilt binary download on these machines.
#
#   test/cluster/build-tools.sh            build what is missing or out of date
#   test/cluster/build-tools.sh --print    print the binaries' paths (builds nothing)
#   SOCKLENS_TOOLS_CACHE=/tmp/x ...        use another cache (e.g. to time a cold build)
#   SOCKLENS_BUILD_KUBECTL=1 ...           also build kubectl (done anyway when PATH has none)
#
# Each tool lands in $SOCKLENS_TOOLS_CACHE/<name>-<version>/ (default
# ~/.cache/socklens-test-tools) with a .stamp holding a hash of everything that went into
# it (wrapper go.mod/go.sum/sources, ldflags, Go version); it is rebuilt only when the
# binary is missing or that hash changes. Go's module and build caches live in the same
# folder, so nothing outside it is touched and a cold build really is cold.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${SOCKLENS_TOOLS_CACHE:-${HOME}/.cache/socklens-test-tools}"
gosrc="${here}/go"

# shellcheck source-path=SCRIPTDIR source=tools.env
source "${here}/tools.env"

log() { printf '[build-tools %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { printf '[build-tools] ERROR: %s\n' "$*" >&2; exit 1; }

if [[ "${1:-}" == "--print" ]]; then
  printf 'kube-apiserver=%s\n' "${cache}/kube-apiserver-${KUBE_VERSION}/kube-apiserver"
  printf 'etcd=%s\n' "${cache}/etcd-${ETCD_VERSION}/etcd"
  printf 'helm=%s\n' "${cache}/helm-${HELM_VERSION}/helm"
  printf 'otelcol=%s\n' "${cache}/otelcol-${OTELCOL_VERSION}/otelcol"
  printf 'kube-controller-manager=%s\n' "${cache}/kube-controller-manager-${KUBE_VERSION}/kube-controller-manager"
  printf 'helm-docs=%s\n' "${cache}/helm-docs-${HELM_DOCS_VERSION}/helm-docs"
  printf 'prometheus=%s\n' "${cache}/prometheus-${PROMETHEUS_VERSION}/prometheus"
  exit 0
fi

# --- Go toolchain ---------------------------------------------------------------------
go_bin="$(command -v go || true)"
[[ -z "${go_bin}" && -x /usr/local/go/bin/go ]] && go_bin=/usr/local/go/bin/go
[[ -n "${go_bin}" ]] || die "no Go toolchain found (PATH or /usr/local/go/bin/go); Go >= 1.26 is needed to build the test tools"
PATH="$(dirname "${go_bin}"):${PATH}"
export PATH
go_version="$(go env GOVERSION)"
if [[ ! "${go_version}" =~ ^go1\.([0-9]+) ]] || ((BASH_REMATCH[1] < 26)); then
  die "Go ${go_version} is too old: kube-apiserver ${KUBE_VERSION} and the other tools need go1.26 or newer"
fi

# The harness makes its certificates with the openssl CLI (test/cluster/pki.ts).
if ! command -v openssl >/dev/null; then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    log "openssl missing: apt-get install openssl"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >/dev/null
  else
    die "openssl is missing; the cluster tests need it to make certificates (apt-get install openssl)"
  fi
fi

mkdir -p "${cache}"
export GOMODCACHE="${cache}/go/mod"
export GOCACHE="${cache}/go/build"
export GOFLAGS="-trimpath -buildvcs=false"
export GOTOOLCHAIN=local # never try to download another toolchain
export CGO_ENABLED=0     # static binaries, no C toolchain needed

# --- consistency of the pins ----------------------------------------------------------
# tools.env is what the TypeScript side reads; the wrapper modules are what Go builds.
# If they disagree the cache directory name would lie about what is inside.
module_version() { # wrapper dir, module path
  (cd "${gosrc}/$1" && go list -m -f '{{.Version}}' "$2") || die "cannot read the version of $2 from test/cluster/go/$1/go.mod"
}
require_pin() { # wrapper dir, module path, expected version
  local got
  got="$(module_version "$1" "$2")"
  [[ "${got}" == "$3" ]] ||
    die "test/cluster/go/$1/go.mod pins $2 ${got} but tools.env says $3; update both together (docs/testing.md)"
}
kube_minor="${KUBE_VERSION#v1.}"
kube_minor="${kube_minor%%.*}"
require_pin kube-apiserver k8s.io/kubernetes "${KUBE_VERSION}"
# Every k8s.io staging module must be the v0.X.Y twin of the v1.X.Y release.
staging_version="v0.${KUBE_VERSION#v1.}"
for mod in k8s.io/api k8s.io/apimachinery k8s.io/apiserver k8s.io/client-go k8s.io/component-base; do
  require_pin kube-apiserver "${mod}" "${staging_version}"
done
if grep -E '^\s+k8s.io/[a-z0-9-]+ => k8s.io/' "${gosrc}/kube-apiserver/go.mod" | grep -qv " ${staging_version}\$"; then
  die "a k8s.io staging replace in test/cluster/go/kube-apiserver/go.mod is not at ${staging_version}"
fi
require_pin kube-controller-manager k8s.io/kubernetes "${KUBE_VERSION}"
require_pin etcd go.etcd.io/etcd/server/v3 "${ETCD_VERSION}"
require_pin helm-docs github.com/norwoodj/helm-docs "${HELM_DOCS_VERSION}"
require_pin helm helm.sh/helm/v3 "${HELM_VERSION}"
require_pin otelcol go.opentelemetry.io/collector/cmd/builder "${OTELCOL_VERSION}"
require_pin otelcol/collector go.opentelemetry.io/collector/otelcol "${OTELCOL_VERSION}"
require_pin prometheus github.com/prometheus/prometheus "${PROMETHEUS_VERSION}"
grep -Eq "otlpreceiver ${OTELCOL_VERSION}\$" "${gosrc}/otelcol/manifest.yaml" ||
  die "test/cluster/go/otelcol/manifest.yaml's otlpreceiver is not ${OTELCOL_VERSION} (tools.env)"

# --- helpers --------------------------------------------------------------------------
stamp_of() { # srcdir, extra text...
  local dir="$1"
  shift
  {
    printf '%s\n' "${go_version}" "$@"
    (cd "${dir}" && find . -maxdepth 1 -type f \( -name 'go.mod' -o -name 'go.sum' -o -name '*.go' -o -name '*.yaml' \) \
      -print0 | sort -z | xargs -0 sha256sum)
  } | sha256sum | cut -d' ' -f1
}

built_summary=()

# ensure NAME VERSION SRCDIR STAMP BUILD_FUNCTION: runs BUILD_FUNCTION OUTDIR when needed.
ensure() {
  local name="$1" version="$2" src="$3" stamp="$4" build="$5"
  local dest="${cache}/${name}-${version}"
  if [[ -x "${dest}/${name}" && -f "${dest}/.stamp" && "$(cat "${dest}/.stamp")" == "${stamp}" ]]; then
    log "${name} ${version}: cached (${dest}/${name})"
    built_summary+=("${name} ${version}: cached")
    return 0
  fi
  log "${name} ${version}: building from ${src#"${here}/"} ..."
  local tmp="${dest}.partial"
  rm -rf "${tmp}"
  mkdir -p "${tmp}"
  local start=${SECONDS}
  if ! (cd "${src}" && "${build}" "${tmp}"); then
    rm -rf "${tmp}"
    die "${name} ${version}: build failed (see the Go output above); the cluster tests will fail until it builds"
  fi
  [[ -x "${tmp}/${name}" ]] || die "${name} ${version}: build finished but ${tmp}/${name} is missing"
  printf '%s\n' "${stamp}" >"${tmp}/.stamp"
  rm -rf "${dest}"
  mv "${tmp}" "${dest}"
  local took=$((SECONDS - start))
  log "${name} ${version}: built in ${took}s ($(du -h "${dest}/${name}" | cut -f1)) -> ${dest}/${name}"
  built_summary+=("${name} ${version}: built in ${took}s")
}

# --- kube-apiserver -------------------------------------------------------------------
# /version must report a real version: helm (and clients' discovery) check it.
kube_ldflags="-s -w"
for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
  kube_ldflags+=" -X ${pkg}.gitVersion=${KUBE_VERSION} -X ${pkg}.gitMajor=1 -X ${pkg}.gitMinor=${kube_minor}"
  kube_ldflags+=" -X ${pkg}.gitTreeState=clean"
done
build_kube_apiserver() { go build -ldflags "${kube_ldflags}" -o "$1/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver; }
build_kubectl() { go build -ldflags "${kube_ldflags}" -o "$1/kubectl" k8s.io/kubernetes/cmd/kubectl; }
# The garbage collector and ClusterRole aggregation run in kube-controller-manager; the tests
# that need them start it with only those controllers (test/cluster/controller-manager.ts).
build_kube_controller_manager() {
  go build -ldflags "${kube_ldflags}" -o "$1/kube-controller-manager" k8s.io/kubernetes/cmd/kube-controller-manager
}

# --- helm-docs ------------------------------------------------------------------------
build_helm_docs() {
  go build -ldflags "-s -w -X main.version=${HELM_DOCS_VERSION#v}" -o "$1/helm-docs" github.com/norwoodj/helm-docs/cmd/helm-docs
}

# --- etcd -----------------------------------------------------------------------------
# etcd reports its git SHA in --version and /version; the release tag is the honest value here.
etcd_ldflags="-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=${ETCD_VERSION}"
build_etcd() { go build -ldflags "${etcd_ldflags}" -o "$1/etcd" .; }

# --- helm -----------------------------------------------------------------------------
# Same ldflags as helm's Makefile: its version, and the Kubernetes version its lint and
# capabilities default to (derived from the client-go it is built with, v0.X -> 1.X).
helm_client_go="$(cd "${gosrc}/helm" && go list -m -f '{{.Version}}' k8s.io/client-go)"
helm_k8s_minor="${helm_client_go#v0.}"
helm_k8s_minor="${helm_k8s_minor%%.*}"
helm_ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=${HELM_VERSION}"
helm_ldflags+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
  helm_ldflags+=" -X ${pkg}.k8sVersionMajor=1 -X ${pkg}.k8sVersionMinor=${helm_k8s_minor}"
done
build_helm() { go build -ldflags "${helm_ldflags}" -o "$1/helm" helm.sh/helm/v3/cmd/helm; }

# --- OpenTelemetry Collector ----------------------------------------------------------
# go/otelcol/collector is what the pinned builder (ocb) generated from go/otelcol/manifest.yaml
# (go/otelcol/regenerate.sh says why it is committed rather than generated here).
# The stamp covers the manifest too, so editing it triggers this check and a rebuild.
# Before compiling, the builder regenerates the sources from the manifest into a scratch
# dir and they must match the committed ones: manifest.yaml stays the one source of truth.
build_otelcol() {
  local out="$1" gen
  gen="$(mktemp -d)"
  if ! go -C .. build -ldflags "-s -w" -o "${gen}/ocb" go.opentelemetry.io/collector/cmd/builder ||
    ! sed "s|^  output_path: .*|  output_path: ${gen}/src|" ../manifest.yaml >"${gen}/manifest.yaml" ||
    ! "${gen}/ocb" --config="${gen}/manifest.yaml" --skip-get-modules --skip-compilation >"${gen}/ocb.log" 2>&1; then
    cat "${gen}/ocb.log" >&2 2>/dev/null || true
    rm -rf "${gen}"
    return 1
  fi
  local f drift=0
  for f in "${gen}"/src/*.go; do
    cmp -s "${f}" "$(basename "${f}")" || { log "otelcol: $(basename "${f}") differs from what ocb generates"; drift=1; }
  done
  while read -r mod ver; do
    grep -Eq "^\s${mod} ${ver}\$" go.mod || { log "otelcol: go.mod does not require ${mod} ${ver}"; drift=1; }
  done < <(sed -n 's/^  - gomod: \(.*\) \(v[0-9.]*\)$/\1 \2/p' ../manifest.yaml)
  rm -rf "${gen}"
  if ((drift)); then
    log "otelcol: test/cluster/go/otelcol/collector is stale; run test/cluster/go/otelcol/regenerate.sh and commit"
    return 1
  fi
  go build -ldflags "-s -w" -o "${out}/otelcol" .
}

# --- Prometheus -----------------------------------------------------------------------
# The server from its Go module (v0.3XX.Y is the module version of Prometheus 3.XX.Y).
# remove_all_sd drops every service discovery but static and file configs (the tests scrape
# a fixed address): about half the dependencies and build time. Without builtinassets the
# web UI is not embedded; the HTTP API the tests use is all there.
prometheus_module_minor="${PROMETHEUS_VERSION#v0.}"
prometheus_module_minor="${prometheus_module_minor%%.*}"
prometheus_release="3.$((prometheus_module_minor - 300)).${PROMETHEUS_VERSION##*.}"
prometheus_ldflags="-s -w -X github.com/prometheus/common/version.Version=${prometheus_release}"
prometheus_ldflags+=" -X github.com/prometheus/common/version.Branch=release"
build_prometheus() {
  go build -tags remove_all_sd -ldflags "${prometheus_ldflags}" -o "$1/prometheus" github.com/prometheus/prometheus/cmd/prometheus
}

total_start=${SECONDS}
ensure kube-apiserver "${KUBE_VERSION}" "${gosrc}/kube-apiserver" \
  "$(stamp_of "${gosrc}/kube-apiserver" "${kube_ldflags}")" build_kube_apiserver
ensure kube-controller-manager "${KUBE_VERSION}" "${gosrc}/kube-controller-manager" \
  "$(stamp_of "${gosrc}/kube-controller-manager" "${kube_ldflags}")" build_kube_controller_manager
ensure helm-docs "${HELM_DOCS_VERSION}" "${gosrc}/helm-docs" \
  "$(stamp_of "${gosrc}/helm-docs" "-s -w -X main.version=${HELM_DOCS_VERSION#v}")" build_helm_docs
ensure etcd "${ETCD_VERSION}" "${gosrc}/etcd" "$(stamp_of "${gosrc}/etcd" "${etcd_ldflags}")" build_etcd
ensure helm "${HELM_VERSION}" "${gosrc}/helm" "$(stamp_of "${gosrc}/helm" "${helm_ldflags}")" build_helm
ensure otelcol "${OTELCOL_VERSION}" "${gosrc}/otelcol/collector" \
  "$(stamp_of "${gosrc}/otelcol/collector" -s -w "$(sha256sum <"${gosrc}/otelcol/manifest.yaml")")" build_otelcol
ensure prometheus "${PROMETHEUS_VERSION}" "${gosrc}/prometheus" \
  "$(stamp_of "${gosrc}/prometheus" "${prometheus_ldflags}")" build_prometheus
# kubectl is not needed by the tests, but humans poking at the control plane want one.
# SOCKLENS_BUILD_KUBECTL=1 builds it even when the machine has one.
if [[ "${SOCKLENS_BUILD_KUBECTL:-}" == 1 ]] || ! command -v kubectl >/dev/null; then
  ensure kubectl "${KUBE_VERSION}" "${gosrc}/kube-apiserver" \
    "$(stamp_of "${gosrc}/kube-apiserver" "${kube_ldflags}")" build_kubectl
  log "kubectl was missing from PATH: use ${cache}/kubectl-${KUBE_VERSION}/kubectl"
fi

log "done in $((SECONDS - total_start))s:"
for line in "${built_summary[@]}"; do log "  ${line}"; done
