#!/usr/bin/env bash
# Installs what tagdrift's tests (and, with TAGDRIFT_DEPS=demo, only the demo) need on a fresh Debian 12 machine (as root):
# a real containerd with runc, a registry, skopeo, gcc for the test images, promtool,
# chromium (the HTML report page is tested in a real browser),
# openssl for the token-auth registry's signing certificate, libatomic1 for the pinned
# Node.js binary. Then the pinned Node.js (.node-version) and `npm ci` on it.
set -euo pipefail
cd "$(dirname "$0")/.."
# TAGDRIFT_DEPS=demo (npm run demo): only what the demo uses, a real node (containerd, runc, a
# registry, skopeo, gcc and libc6-dev for its test images) and the pinned Node.js's libatomic1.
# Otherwise everything the tests use as well.
mode="${TAGDRIFT_DEPS:-test}"
bins=(containerd runc docker-registry skopeo gcc tar)
pkgs=(containerd runc docker-registry skopeo gcc libc6-dev tar ca-certificates libatomic1)
if [ "$mode" != demo ]; then
  bins+=(promtool openssl chromium)
  pkgs+=(openssl prometheus chromium)
fi
need=()
for bin in "${bins[@]}"; do
  command -v "$bin" >/dev/null 2>&1 || [ -x "/usr/sbin/$bin" ] || need+=("$bin")
done
[ -e /usr/lib/x86_64-linux-gnu/libc.a ] || [ -e /usr/lib/aarch64-linux-gnu/libc.a ] || need+=("libc.a")
[ -e /usr/lib/x86_64-linux-gnu/libatomic.so.1 ] || [ -e /usr/lib/aarch64-linux-gnu/libatomic.so.1 ] || need+=("libatomic1")
if [ ${#need[@]} -gt 0 ]; then
  echo "installing Debian packages (missing: ${need[*]})"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
fi
# kubectl renders deploy/ in the tests (`kubectl kustomize`, components need kustomize >= 3.7).
if [ "$mode" != demo ] && ! command -v kubectl >/dev/null 2>&1; then
  echo "installing kubectl"
  apt-get install -y -qq --no-install-recommends kubectl >/dev/null 2>&1 \
    || { echo "kubectl is not installable from this machine's apt sources: install kubectl >= 1.21 (kubectl kustomize renders deploy/)" >&2; exit 1; }
fi
# The real-node tier also runs containerd 1.7.24 and 2.1.9, fetched under .tools/ without touching apt's sources.
if [ "$mode" != demo ]; then
  bash scripts/containerd-releases.sh
fi
# Debian's packages start services where systemd runs; the test bed runs its own
# instances in temp dirs and never touches the system ones.
# shellcheck source=scripts/pinned-node.sh
source scripts/pinned-node.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
