#!/usr/bin/env bash
# The README's demo command: installs what is missing, then starts etcd and a 3-member Keel
# cluster (3 agents, 3 PostgreSQL) on localhost and shows the member table live. Ctrl-C stops
# everything. Data lives in .keel-demo/ and is removed on exit unless you pass --keep.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec npx tsx scripts/demo.ts "$@"
