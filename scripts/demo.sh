#!/usr/bin/env bash
# The demo: installs what it needs, brings up a throwaway real node (containerd,
# registry, Kubernetes API on loopback), reproduces the re-pushed-tag incident,
# runs `tagdrift scan` and tears everything down.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# shellcheck source=scripts/pinned-node.sh
source scripts/pinned-node.sh
npm run --silent build
exec node dist/testbed/demo.js
