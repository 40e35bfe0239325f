#!/usr/bin/env bash
# Source this file: it makes sure the Node.js release the project is tested on
# (.node-version) is unpacked under .tools/ and puts it first on PATH, so `node`,
# `npm` (whose launcher runs on the `node` found on PATH) and `npx` all run on it.
# The binary comes from the npm registry's `node-linux-<arch>` package, whose
# tarball npm checks against the registry's integrity hash.
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_version="$(tr -d '[:space:]' < "$_root/.node-version")"
case "$(uname -m)" in
  x86_64) _arch=x64 ;;
  aarch64) _arch=arm64 ;;
  *) echo "pinned-node: no node-linux package for $(uname -m)" >&2; return 1 ;;
esac
_dir="$_root/.tools/node-v$_version-linux-$_arch"
if [ ! -x "$_dir/bin/node" ]; then
  echo "fetching Node.js $_version (npm package node-linux-$_arch@$_version)"
  _tmp="$(mktemp -d)"
  (cd "$_tmp" && npm pack --silent "node-linux-$_arch@$_version" >/dev/null)
  mkdir -p "$_dir/bin"
  tar -xzf "$_tmp"/node-linux-"$_arch"-"$_version".tgz -C "$_tmp" package/bin/node package/LICENSE
  mv "$_tmp/package/bin/node" "$_dir/bin/node"
  mv "$_tmp/package/LICENSE" "$_dir/LICENSE"
  rm -rf "$_tmp"
fi
export PATH="$_dir/bin:$PATH"
export TAGDRIFT_NODE="$_dir/bin/node"
if [ "$(node --version)" != "v$_version" ]; then
  echo "pinned-node: expected node v$_version on PATH, got $(node --version)" >&2
  return 1
fi
unset _root _version _arch _dir _tmp
