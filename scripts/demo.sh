#!/usr/bin/env bash
# The demo: installs what it needs, brings up a throwaway real node (containerd,
# registry, Kubernetes API on loopback), reproduces the re-pushed-tag incident,
# runs `tagdrift scan` and tears everything down. `npm run demo -- --keep` keeps the node up
# with an agent on it (its page, API and metrics) until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
TAGDRIFT_DEPS=demo bash scripts/install-deps.sh
# shellcheck source=scripts/pinned-node.sh
source scripts/pinned-node.sh
npm run --silent build
exec node dist/testbed/demo.js "$@"
