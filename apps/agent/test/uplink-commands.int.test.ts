import { freePort, TestCluster, waitFor, type Member } from '@keel/testkit';
import { parseAgentMessage, type TCommandInput, type TNodeStatus, type TOperationResult, type TSequencedMessage } from '@keel/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';

const TOKEN = 'kt_commands_test_token';

/** A small control plane: welcomes each agent, stores its sequenced messages once, acks, sends commands. */
class MiniControlPlane {
  private wss!: WebSocketServer;
  readonly sockets = new Map<string, WebSocket>();
  readonly lastSeq = new Map<string, number>();
  readonly stored: Array<{ member: string; message: TSequencedMessage }> = [];
  connects = 0;

  constructor(readonly port: number) {}

  async start(): Promise<void> {
    this.wss = new WebSocketServer({ port: this.port, host: '127.0.0.1', path: '/agents/ws' });
    await new Promise<void>((resolve) => this.wss.once('listening', resolve));
    this.wss.on('connection', (ws) => {
      let member: string | null = null;
      ws.on('message', (data) => {
        const parsed = parseAgentMessage(data.toString());
        if (!parsed.ok) throw new Error(`the agent sent an invalid message: ${parsed.error}`);
        const m = parsed.message;
        if (m.type === 'hello') {
          if (m.token !== TOKEN) return ws.close();
          member = m.member;
          this.sockets.set(member, ws);
          this.connects++;
          ws.send(JSON.stringify({ type: 'welcome', v: 1, ackedSeq: this.lastSeq.get(member) ?? 0 }));
          return;
        }
        if (!member) return;
        if (m.seq > (this.lastSeq.get(member) ?? 0)) {
          this.stored.push({ member, message: m });
          this.lastSeq.set(member, m.seq);
        }
        ws.send(JSON.stringify({ type: 'ack', seq: m.seq }));
      });
    });
  }

  send(member: string, command: TCommandInput): void {
    const ws = this.sockets.get(member);
    if (!ws) throw new Error(`${member} is not connected`);
    ws.send(JSON.stringify({ type: 'command', command }));
  }

  results(id: string): TOperationResult[] {
    return this.stored.flatMap((s) => (s.message.type === 'operation_result' && s.message.operationId === id ? [s.message] : []));
  }

  progress(id: string): string[] {
    const last = this.stored.filter((s) => s.message.type === 'operation_progress' && s.message.operationId === id).at(-1)?.message;
    return last?.type === 'operation_progress' ? last.steps.map((s) => s.message) : [];
  }

  async stop(): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}

// Real agents (etcd + PostgreSQL) connected to a control plane in the test: commands run through the
// agent's operation services, once per id even across a reconnect, and report progress and results.
describe('control-plane commands on real agents', () => {
  let c: TestCluster;
  let cp: MiniControlPlane;
  let leader: Member;
  let replica: Member;
  const startTime = async (m: Member) => (await m.api<TNodeStatus>('/patroni')).body.postmaster_start_time;

  beforeAll(async () => {
    cp = new MiniControlPlane(await freePort());
    await cp.start();
    c = await TestCluster.start({
      members: 2,
      ttl: 10,
      loopWait: 2,
      retryTimeout: 3,
      tweak: (cfg) => {
        cfg.controlplane = { url: `http://127.0.0.1:${cp.port}`, token: TOKEN };
      },
    });
    leader = await c.waitForPrimary(90_000);
    replica = c.members.find((m) => m !== leader)!;
    await c.waitForReplicas([replica.name], 120_000);
    await waitFor(() => cp.sockets.has(leader.name) && cp.sockets.has(replica.name), { timeoutMs: 30_000, message: 'both agents connected' });
  });
  afterAll(async () => {
    await c?.stop();
    await cp?.stop();
  });

  it('restarts a replica once per operation id, even when the command is replayed after a reconnect', async () => {
    const before = await startTime(replica);
    cp.send(replica.name, { id: 'op-restart-1', op: 'restart', request: {}, reason: 'kernel update', requestedBy: 'alice' });
    await waitFor(() => cp.results('op-restart-1').length === 1, { timeoutMs: 90_000, message: 'the restart result' });
    expect(cp.results('op-restart-1')[0]).toMatchObject({ op: 'restart', outcome: 'succeeded', message: 'restarted successfully' });
    expect(cp.progress('op-restart-1')).toEqual(expect.arrayContaining(['restart requested', 'stopping PostgreSQL (fast)', 'starting PostgreSQL']));
    const after = await startTime(replica);
    expect(after).not.toBe(before);
    // The REST API sees the same operation, under the control plane's id.
    expect((await replica.api<{ state: string; reason: string }>('/operations/op-restart-1')).body).toMatchObject({ state: 'succeeded', reason: 'kernel update' });

    // Replayed on the same connection: the result is sent again, nothing runs.
    cp.send(replica.name, { id: 'op-restart-1', op: 'restart', request: {} });
    await waitFor(() => cp.results('op-restart-1').length === 2, { timeoutMs: 10_000, message: 'the re-sent result' });
    // Replayed after the connection dropped: still nothing runs.
    const connects = cp.connects;
    cp.sockets.get(replica.name)!.terminate();
    await waitFor(() => cp.connects > connects, { timeoutMs: 30_000, message: 'the agent reconnected' });
    cp.send(replica.name, { id: 'op-restart-1', op: 'restart', request: {} });
    await waitFor(() => cp.results('op-restart-1').length === 3, { timeoutMs: 10_000, message: 'the result re-sent after the reconnect' });
    expect(cp.results('op-restart-1').every((r) => r.outcome === 'succeeded')).toBe(true);
    expect(await startTime(replica)).toBe(after);
  });

  it('reports refusals exactly: the REST API\'s code and text, and a bad request by id', async () => {
    cp.send(replica.name, { id: 'op-refused', op: 'restart', request: { role: 'master' } });
    cp.send(replica.name, { id: 'op-bad', op: 'restart', request: { role: 'boss' } } as unknown as TCommandInput);
    await waitFor(() => cp.results('op-refused').length === 1 && cp.results('op-bad').length === 1, { timeoutMs: 15_000, message: 'two refusals' });
    expect(cp.results('op-refused')[0]).toMatchObject({
      outcome: 'failed',
      code: 'unavailable',
      httpStatus: 503,
      message: 'restart conditions are not satisfied: role is replica, not primary',
    });
    expect(cp.results('op-bad')[0]).toMatchObject({ op: 'restart', outcome: 'failed', code: 'invalid', httpStatus: 400 });
  });

  it('switches over through a command to the leader and reports the new leader', async () => {
    cp.send(leader.name, { id: 'op-switchover', op: 'switchover', request: { leader: leader.name, candidate: replica.name }, reason: 'maintenance' });
    await waitFor(() => cp.results('op-switchover').length === 1, { timeoutMs: 90_000, message: 'the switchover result' });
    expect(cp.results('op-switchover')[0]).toMatchObject({ outcome: 'succeeded', message: `Successfully switched over to "${replica.name}"`, data: { leader: replica.name } });
    expect((await c.waitForPrimary(30_000)).name).toBe(replica.name);
  });
});
