import { describe, expect, it } from 'vitest';
import { colorDiff, unifiedDiff } from '../src/render/diff.ts';

// Expected outputs produced by Python's difflib.unified_diff on the same inputs (what patronictl prints).
describe('unifiedDiff (difflib.unified_diff shape)', () => {
  it('shows a changed line with three lines of context and empty file names', () => {
    const before = 'loop_wait: 10\nmaximum_lag_on_failover: 1048576\npostgresql:\n  parameters:\n    max_connections: 100\n    wal_level: replica\n  use_pg_rewind: true\nttl: 30\n';
    const after = before.replace('max_connections: 100', 'max_connections: 200');
    expect(unifiedDiff(before, after)).toEqual([
      '--- ',
      '+++ ',
      '@@ -2,7 +2,7 @@',
      ' maximum_lag_on_failover: 1048576',
      ' postgresql:',
      '   parameters:',
      '-    max_connections: 100',
      '+    max_connections: 200',
      '     wal_level: replica',
      '   use_pg_rewind: true',
      ' ttl: 30',
    ]);
  });

  it('numbers hunks like difflib for appended, prepended, removed and far-apart changes', () => {
    expect(unifiedDiff('a\nb\nc\n', 'a\nb\nc\nd\n')).toEqual(['--- ', '+++ ', '@@ -1,3 +1,4 @@', ' a', ' b', ' c', '+d']);
    expect(unifiedDiff('a\nb\nc\n', 'x\na\nb\nc\n')).toEqual(['--- ', '+++ ', '@@ -1,3 +1,4 @@', '+x', ' a', ' b', ' c']);
    expect(unifiedDiff('a\nb\n', 'b\n')).toEqual(['--- ', '+++ ', '@@ -1,2 +1 @@', '-a', ' b']);
    expect(unifiedDiff('l1\nl2\nl3\nl4\nl5\nl6\nl7\nl8\n', 'l1\nl2\nl3\nl4\nX\nl5\nl6\nl7\nl8\n')).toEqual([
      '--- ', '+++ ', '@@ -2,6 +2,7 @@', ' l2', ' l3', ' l4', '+X', ' l5', ' l6', ' l7',
    ]);
    expect(unifiedDiff('a\nb\n', 'a\n')).toEqual(['--- ', '+++ ', '@@ -1,2 +1 @@', ' a', '-b']);
    expect(unifiedDiff('a\n', 'b\n')).toEqual(['--- ', '+++ ', '@@ -1 +1 @@', '-a', '+b']);
    expect(unifiedDiff('a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\n', 'a\nb\nC\nd\ne\nf\ng\nh\ni\nj\nK\n')).toEqual([
      '--- ', '+++ ', '@@ -1,6 +1,6 @@', ' a', ' b', '-c', '+C', ' d', ' e', ' f', '@@ -8,4 +8,4 @@', ' h', ' i', ' j', '-k', '+K',
    ]);
  });

  it('is empty for equal texts, whatever the trailing newlines', () => {
    expect(unifiedDiff('a\n', 'a\n\n')).toEqual([]);
  });

  it('colours removed lines red and added lines green for a terminal', () => {
    expect(colorDiff(['-a', '+b', ' c'])).toEqual(['\x1b[31m-a\x1b[0m', '\x1b[32m+b\x1b[0m', ' c']);
  });
});
