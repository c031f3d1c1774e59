#!/usr/bin/env bash
# The README's test command: installs what is missing, type-checks, lints, runs the unit and the
# integration tests (real etcd, real PostgreSQL) and ends with "N passed, N failed[, N skipped]".
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || { echo "0 passed, 1 failed"; exit 1; }
mkdir -p .artifacts
export NEXT_TELEMETRY_DISABLED=1

checks_failed=0
echo "== typecheck"; npm run -s typecheck || checks_failed=$((checks_failed + 1))
echo "== lint"; npx eslint . || checks_failed=$((checks_failed + 1))

echo "== tests"
npx vitest run --reporter=default --reporter=json --outputFile.json=.artifacts/vitest.json "$@"
vitest_rc=$?
node scripts/summarize-tests.mjs .artifacts/vitest.json "$checks_failed" "$vitest_rc"
