#!/usr/bin/env bash
# The two containerd releases the test bed runs beside the system's 1.6.20: 1.7.24 (Debian trixie) and
# 2.1.9 (Debian sid), each fetched by exact version with `apt-get download` through a private apt list and
# state directory under .tools/apt-releases (the machine's own sources are never read or changed, so nothing
# on the system is upgraded), then unpacked with `dpkg-deb -x` into .tools/containerd-<version>/. Both
# packages depend only on libc6 (>= 2.34) and runc, which Debian 12 has. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
mirror="${TAGDRIFT_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
arch="$(dpkg --print-architecture)"
declare -A want=([1.7.24]='containerd=1.7.24~ds1-6+deb13u1' [2.1.9]='containerd=2.1.9+ds1-5')
missing=()
for v in "${!want[@]}"; do [ -x ".tools/containerd-$v/usr/bin/containerd" ] || missing+=("$v"); done
[ ${#missing[@]} -eq 0 ] && exit 0
apt=".tools/apt-releases"
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/debs"
key=/usr/share/keyrings/debian-archive-keyring.gpg
printf 'deb [arch=%s signed-by=%s] %s trixie main\ndeb [arch=%s signed-by=%s] %s sid main\n' \
  "$arch" "$key" "$mirror" "$arch" "$key" "$mirror" > "$apt/sources.list"
opts=(-o "Dir::Etc::SourceList=$PWD/$apt/sources.list" -o Dir::Etc::SourceParts=- -o "Dir::State::Lists=$PWD/$apt/lists"
  -o "Dir::Cache=$PWD/$apt/cache" -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
echo "fetching containerd ${missing[*]} into .tools/ (private apt list; the system's sources are untouched)"
apt-get "${opts[@]}" -qq update
for v in "${missing[@]}"; do
  (cd "$apt/debs" && apt-get "${opts[@]}" -qq download "${want[$v]}")
  deb="$(ls "$apt/debs"/containerd_"${v}"*.deb | head -n1)"
  rm -rf ".tools/containerd-$v.tmp" && mkdir -p ".tools/containerd-$v.tmp"
  dpkg-deb -x "$deb" ".tools/containerd-$v.tmp"
  "./.tools/containerd-$v.tmp/usr/bin/containerd" --version | grep -q " $v" \
    || { echo "containerd-$v: unpacked binary does not report version $v" >&2; exit 1; }
  rm -rf ".tools/containerd-$v" && mv ".tools/containerd-$v.tmp" ".tools/containerd-$v"
done
