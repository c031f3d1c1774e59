import { describe, expect, it } from 'vitest';
import { decide } from '../src/decide.ts';
import { NOW, anObservation } from './builders.ts';

// Patroni's no_leader replica creation methods: an empty member of an initialized cluster with no
// leader may create its data directory from a backup instead of waiting for a leader to clone from.
describe('an empty member with a no_leader replica creation method', () => {
  it('creates a replica without a source when there is no leader', () => {
    const d = decide(anObservation().withEmptyDataDir().withNoLeaderMethod().build());
    expect([d.verdict, d.reason, d.actions]).toEqual(['clone', 'no leader to clone from: creating a replica with the no_leader replica creation methods', [{ type: 'clone', from: null }]]);
  });

  it('still waits without such a method', () => {
    expect(decide(anObservation().withEmptyDataDir().build()).verdict).toBe('waiting_for_leader');
  });

  it('clones from the leader as usual when there is one', () => {
    const d = decide(anObservation().withEmptyDataDir().withNoLeaderMethod().withLeader('b').build());
    expect(d.actions).toEqual([{ type: 'clone', from: 'b' }]);
  });

  it('does nothing in pause, and backs off after failures', () => {
    expect(decide(anObservation().withEmptyDataDir().withNoLeaderMethod().withSettings({ pause: true }).build()).verdict).toBe('paused');
    const failed = anObservation().withEmptyDataDir().withNoLeaderMethod().withMemory({ lastFailure: { kind: 'clone', at: NOW, message: 'every replica creation method failed', attempts: 1 } });
    expect(decide(failed.build()).verdict).toBe('clone_backoff');
  });
});
