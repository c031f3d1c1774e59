/** Corrupt DCS values (written by etcdctl or a buggy tool) are logged and treated as absent, never fatal. */
import { dcsKeys } from '@keel/protocol';
import { describe, expect, it } from 'vitest';
import { parseCluster, writableRevision, type RawKv } from '../src/parse.ts';

const keys = dcsKeys('/service/', 'demo');
const kv = (rel: string, value: string, modRevision = 7): RawKv => ({ key: `${keys.base}${rel}`, value, createRevision: 1, modRevision, lease: '0' });

describe('parseCluster with corrupt keys', () => {
  const cases: Array<[string, string, 'config' | 'failover' | 'sync', string]> = [
    ['failover = []', '[]', 'failover', 'failover: unexpected value ((root): Invalid input: expected object, received array); treated as absent (a write replaces it)'],
    ['failover with a number for a name', '{"leader": 5}', 'failover', 'failover: unexpected value (leader: Invalid input: expected string, received number); treated as absent (a write replaces it)'],
    ['a non-JSON /config', 'ttl: 30', 'config', 'config: invalid JSON'],
    ['/config as a list', '[1]', 'config', 'config: unexpected value ((root): Invalid input: expected object, received array); treated as absent (a write replaces it)'],
    ['/sync with wrong types', '{"leader": ["a"], "sync_standby": 3}', 'sync', 'sync: unexpected value (leader: Invalid input: expected string, received array; sync_standby: Invalid input: expected string, received number); treated as absent (a write replaces it)'],
  ];
  it.each(cases)('%s: absent, with a warning and the revision a write must name', (_name, value, key, warning) => {
    const snap = parseCluster(keys, 10, [kv(key, value, 7), kv('leader', 'n1')]);
    expect(snap[key]).toBeNull();
    expect(snap.warnings).toHaveLength(1);
    expect(snap.warnings[0]).toContain(warning);
    expect(snap.leader?.name).toBe('n1');
    expect(writableRevision(snap, key)).toBe(7);
  });

  it('names the parsed value revision when it parses, and 0 when the key is absent', () => {
    const snap = parseCluster(keys, 10, [kv('failover', '{"leader":"n1"}', 9)]);
    expect(writableRevision(snap, 'failover')).toBe(9);
    expect(writableRevision(snap, 'sync')).toBe(0);
    expect(writableRevision(null, 'config')).toBe(0);
  });
});
