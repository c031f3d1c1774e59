#!/usr/bin/env bash
# The README's test command: installs what is missing, type-checks, lints, runs the unit and the
# integration tests (real etcd, real PostgreSQL), the Playwright end-to-end tests (Debian's
# Chromium against the real control plane fed by real agents) and ends with
# "N passed, N failed[, N skipped]".
set -uo pipefail
cd "$(dirname "$0")/.."
export KEEL_NEED_CHROMIUM=1
bash scripts/setup.sh || { echo "0 passed, 1 failed"; exit 1; }
mkdir -p .artifacts
export NEXT_TELEMETRY_DISABLED=1

checks_failed=0
echo "== typecheck"; npm run -s typecheck || checks_failed=$((checks_failed + 1))
echo "== lint"; npx eslint . || checks_failed=$((checks_failed + 1))
# The production bundles (about a second): tests that start the built agent, keelctl and server need them.
echo "== build"; npm run -s build || checks_failed=$((checks_failed + 1))

echo "== tests"
npx vitest run --reporter=default --reporter=json --outputFile.json=.artifacts/vitest.json "$@"
vitest_rc=$?
echo "== e2e (Playwright, Debian Chromium)"
rm -f .artifacts/playwright/results.json
npx playwright test
e2e_rc=$?

node scripts/summarize-tests.mjs .artifacts/vitest.json "$checks_failed" "$vitest_rc" .artifacts/playwright/results.json "$e2e_rc"
