// Prints the closing line "N passed, N failed[, N skipped]" from vitest's and Playwright's JSON
// reports, counting a failed typecheck/lint as one failure each, and exits non-zero when anything
// failed.
import fs from 'node:fs';

const [file, checksFailedArg = '0', vitestRcArg = '0', e2eFile, e2eRcArg = '0'] = process.argv.slice(2);
const checksFailed = Number(checksFailedArg);
let passed = 0;
let failed = checksFailed;
let skipped = 0;
try {
  const r = JSON.parse(fs.readFileSync(file, 'utf8'));
  passed = r.numPassedTests ?? 0;
  failed += r.numFailedTests ?? 0;
  skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  // A test file that failed to load has no test results: count it.
  for (const s of r.testResults ?? []) if (s.status === 'failed' && (s.assertionResults ?? []).length === 0) failed += 1;
} catch {
  failed += 1;
}
if (Number(vitestRcArg) !== 0 && failed === 0) failed = 1;
if (e2eFile) {
  try {
    const s = JSON.parse(fs.readFileSync(e2eFile, 'utf8')).stats;
    passed += s.expected + s.flaky;
    failed += s.unexpected;
    skipped += s.skipped;
    if (Number(e2eRcArg) !== 0 && s.unexpected === 0) failed += 1;
  } catch {
    failed += 1; // the e2e run produced no report: it did not run
  }
}
if (passed + failed === 0) failed = 1; // ran no test: that is a failure
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 ? 1 : 0);
