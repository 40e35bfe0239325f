#!/usr/bin/env bash
# The README's test command (`npm test`): installs what the tests need, builds, and
# runs both tiers on the pinned Node.js (.node-version).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# shellcheck source=scripts/pinned-node.sh
source scripts/pinned-node.sh
npm run --silent build
exec node node_modules/vitest/vitest.mjs run "$@"
