import { describe, expect, it } from 'vitest';
import type { TCommandInput, TOperationResult } from '@keel/protocol';
import { PEER_TIMEOUT_MS, Peers, type TPeerMessage } from '../server/instances/peers.ts';
import type { TLiveMessage } from '../server/live/messages.ts';

/** Two or more Peers wired through an in-memory bus (the real one is PostgreSQL NOTIFY). */
function mesh(names: string[]) {
  let now = 1_000_000;
  const nodes = new Map<string, ReturnType<typeof node>>();
  function node(name: string) {
    const local = new Set<string>();
    const sent: Array<{ member: string; command: TCommandInput }> = [];
    const published: TLiveMessage[] = [];
    const claimed: TOperationResult[] = [];
    const undeliverable: string[] = [];
    const orphaned: string[][] = [];
    const running: string[] = [];
    const tokensClosed: string[] = [];
    const peers = new Peers(name, {
      send: (m: TPeerMessage) => {
        const copy = JSON.parse(JSON.stringify(m)) as unknown;
        for (const [other, n] of nodes) if (other !== name) n.peers.onMessage(name, copy);
      },
      local: {
        connectedMembers: () => [...local],
        isConnected: (id) => local.has(id),
        sendCommand: (id, command) => (local.has(id) ? (sent.push({ member: id, command }), true) : false),
        disconnectToken: (tokenId) => (tokensClosed.push(tokenId), 0),
        movedAway: (id) => void local.delete(id),
      },
      live: { publish: (m) => void published.push(m), notifyUsers: () => undefined, disconnectUser: () => 0 },
      runner: {
        runningOperations: () => running,
        claimResult: (_id, m) => (claimed.push(m), true),
        undeliverable: (commandId) => void undeliverable.push(commandId),
        failOrphaned: async (ids) => void orphaned.push(ids),
      },
      log: () => undefined,
      now: () => now,
    });
    return { peers, local, sent, published, claimed, undeliverable, orphaned, running, tokensClosed };
  }
  for (const n of names) nodes.set(n, node(n));
  return { get: (n: string) => nodes.get(n) as ReturnType<typeof node>, advance: (ms: number) => (now += ms) };
}

const command = { op: 'restart', id: '00000000-0000-4000-8000-000000000001', reason: 'test', requestedBy: 'a@b.c', notAfter: new Date(Date.now() + 30_000).toISOString() } as unknown as TCommandInput;

describe('Peers (control-plane instances over the peer bus)', () => {
  it('routes a command to the instance holding the agent, and says so when nobody holds it', () => {
    const m = mesh(['A', 'B']);
    m.get('A').peers.start();
    m.get('B').peers.start();
    m.get('A').local.add('member-1');
    m.get('A').peers.presence('member-1', true);
    expect(m.get('B').peers.isConnected('member-1')).toBe(true);
    expect(m.get('B').peers.sendCommand('member-1', command)).toBe(true);
    expect(m.get('A').sent.map((s) => s.member)).toEqual(['member-1']);
    expect(m.get('B').peers.sendCommand('member-2', command)).toBe(false);
    // the agent left A just before the command arrived: B hears "undeliverable"
    m.get('A').local.delete('member-1');
    expect(m.get('B').peers.sendCommand('member-1', command)).toBe(true);
    expect(m.get('B').undeliverable).toEqual([(command as { id: string }).id]);
  });

  it('forwards live messages (not the database health) and results, and learns presence from heartbeats', () => {
    const m = mesh(['A', 'B']);
    m.get('A').local.add('x');
    m.get('A').peers.start(); // A's heartbeat is sent before B exists on the bus: B learns from its own hello
    m.get('B').peers.start();
    expect(m.get('B').peers.holder('x')).toBe('A');
    m.get('A').peers.forwardLive({ type: 'presence', cluster: 'c', member: 'x', connected: true, at: 'now' });
    m.get('A').peers.forwardLive({ type: 'database', database: { ok: true } } as unknown as TLiveMessage);
    expect(m.get('B').published.map((p) => p.type)).toEqual(['presence']);
    m.get('A').peers.forwardResult('x', { type: 'operation_result', seq: 1, at: new Date().toISOString(), operationId: 'op-1', op: 'restart', outcome: 'succeeded', message: 'ok', steps: [] });
    expect(m.get('B').claimed.map((c) => c.operationId)).toEqual(['op-1']);
    m.get('B').peers.disconnectToken('tok', 'revoked');
    expect(m.get('A').tokensClosed).toEqual(['tok']);
  });

  it('an agent that reconnects to another instance is moved away from the first', () => {
    const m = mesh(['A', 'B']);
    m.get('A').peers.start();
    m.get('B').peers.start();
    m.get('A').local.add('x');
    m.get('A').peers.presence('x', true);
    m.get('B').local.add('x');
    m.get('B').peers.presence('x', true);
    expect(m.get('A').local.has('x')).toBe(false);
    expect(m.get('A').peers.holder('x')).toBe('B');
  });

  it('forgets a silent instance and its agents, and fails the operations it was running', () => {
    const m = mesh(['A', 'B']);
    m.get('A').running.push('op-9');
    m.get('A').local.add('x');
    m.get('A').peers.start();
    m.get('B').peers.start();
    expect(m.get('B').peers.peerOperations()).toEqual(new Set(['op-9']));
    m.advance(PEER_TIMEOUT_MS + 1);
    m.get('B').peers.expire();
    expect(m.get('B').peers.isConnected('x')).toBe(false);
    expect(m.get('B').orphaned).toEqual([['op-9']]);
    expect(m.get('B').peers.count).toBe(0);
  });

  it('ignores a malformed peer message', () => {
    const m = mesh(['A']);
    m.get('A').peers.onMessage('Z', { t: 'command', to: 'A', member: 'x', command: { op: 'rm -rf' } });
    expect(m.get('A').sent).toEqual([]);
  });
});
