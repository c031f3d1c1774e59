/** Builders for protocol messages (validated against the protocol's schemas as they are built). */
import { ZAgentEvent, ZHello, ZSnapshot, type TAgentEvent, type THello, type TSnapshot } from '@keel/protocol';

export function hello(over: Partial<THello> & Pick<THello, 'token' | 'cluster' | 'member'>): THello {
  return ZHello.parse({ type: 'hello', v: 1, agentVersion: '0.1.0-test', ...over });
}

export function snapshot(seq: number, over: Partial<TSnapshot> = {}): TSnapshot {
  const role = over.role ?? 'replica';
  return ZSnapshot.parse({
    type: 'snapshot',
    seq,
    at: new Date().toISOString(),
    role,
    state: 'running',
    pgRunning: true,
    timeline: 1,
    lsn: 50_000_000 + seq,
    receiveLsn: role === 'primary' ? null : 50_000_000 + seq,
    replayLsn: role === 'primary' ? null : 50_000_000 + seq,
    lag: role === 'primary'
      ? { leaderLsn: 50_000_000 + seq, receiveBytes: 0, replayBytes: 0, receiveSeconds: 0, replaySeconds: 0 }
      : { leaderLsn: 50_000_100 + seq, receiveBytes: 100, replayBytes: 100 + seq, receiveSeconds: 0.1, replaySeconds: 0.2 },
    pendingRestart: false,
    pendingRestartReasons: {},
    tags: {},
    dcsLastSeen: Math.floor(Date.now() / 1000),
    dcsOk: true,
    failoverReadiness: role === 'primary' ? { eligible: false, reasons: ['is the leader'] } : { eligible: true, reasons: [] },
    leader: 'pg0',
    members: [],
    lastDecision: { verdict: 'healthy', reason: 'no action: I am a healthy replica', actions: [] },
    paused: false,
    ...over,
  });
}

export function roleChange(seq: number, from: 'replica' | 'primary', to: 'replica' | 'primary'): TAgentEvent {
  return ZAgentEvent.parse({
    type: 'event',
    seq,
    at: new Date().toISOString(),
    event: 'role_change',
    summary: `role changed from ${from} to ${to}`,
    details: { from, to },
  });
}
