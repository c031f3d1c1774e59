#!/usr/bin/env bash
# The README's demo command: installs what is missing, then starts etcd and a 3-member Keel
# cluster (3 agents, 3 PostgreSQL) on localhost and shows the member table live. Ctrl-C stops
# everything. Data lives in .keel-demo/ and is removed on exit unless you pass --keep. The demo's
# processes run the built artifacts (npm run build, done here when missing or out of date).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The agents, keelctl and the control-plane server run the built JavaScript, as in production.
node scripts/build.mjs --if-needed
exec npx tsx scripts/demo.ts "$@"
