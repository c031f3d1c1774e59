/** A simulated agent: a real `ws` client speaking packages/protocol, for the ingest tests. */
import WebSocket from 'ws';
import { AGENT_SOCKET_PATH, parseServerMessage, type TAgentMessage, type TCommand, type TServerMessage } from '@keel/protocol';

export class FakeAgent {
  readonly received: TServerMessage[] = [];
  closeCode: number | null = null;
  closeReason = '';
  private waiters: Array<() => void> = [];

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const parsed = parseServerMessage(data.toString());
      if (!parsed.ok) throw new Error(`the server sent something unparseable: ${parsed.error}`);
      this.received.push(parsed.message);
      this.wake();
    });
    ws.on('close', (code, reason) => {
      this.closeCode = code;
      this.closeReason = reason.toString();
      this.wake();
    });
    ws.on('error', () => this.wake());
  }

  static async connect(baseUrl: string): Promise<FakeAgent> {
    const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}${AGENT_SOCKET_PATH}`);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new FakeAgent(ws);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Commands received so far (the server's `command` messages). */
  get commands(): TCommand[] {
    return this.received.flatMap((m) => (m.type === 'command' ? [m.command] : []));
  }

  /**
   * Answer every command from now on like an agent would: progress "accepted", then a result
   * (`outcome` decides which), with seqs from `firstSeq` up.
   */
  answerCommands(outcome: (c: TCommand) => 'succeeded' | 'failed' = () => 'succeeded', firstSeq = 1_000_000): void {
    let seq = firstSeq;
    const answered = new Set<string>();
    const answer = () => {
      for (const c of this.commands) {
        if (answered.has(c.id)) continue;
        answered.add(c.id);
        const at = new Date().toISOString();
        const steps = [{ at, message: `accepted ${c.op}` }];
        this.send({ type: 'operation_progress', seq: seq++, at, operationId: c.id, op: c.op, steps });
        const o = outcome(c);
        this.send({ type: 'operation_result', seq: seq++, at, operationId: c.id, op: c.op, outcome: o, message: o === 'succeeded' ? `${c.op} done` : `${c.op} refused by the fake agent`, steps, ...(o === 'failed' ? { code: 'precondition_failed' as const } : {}) });
      }
    };
    this.ws.on('message', () => setImmediate(answer));
  }

  send(msg: TAgentMessage): void {
    this.ws.send(JSON.stringify(msg));
  }

  sendRaw(text: string): void {
    this.ws.send(text);
  }

  get closed(): boolean {
    return this.closeCode !== null;
  }

  /** Wait until a received message satisfies pred (or the socket closes, or timeoutMs passes). */
  async waitFor<T extends TServerMessage>(pred: (m: TServerMessage) => m is T, timeoutMs = 5000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.received.find(pred);
      if (found) return found;
      if (this.closed) throw new Error(`socket closed (${this.closeCode}) before the expected message; got ${JSON.stringify(this.received)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; got ${JSON.stringify(this.received)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  welcome(timeoutMs?: number) {
    return this.waitFor((m): m is Extract<TServerMessage, { type: 'welcome' }> => m.type === 'welcome', timeoutMs);
  }

  ack(seq: number, timeoutMs?: number) {
    return this.waitFor((m): m is Extract<TServerMessage, { type: 'ack' }> => m.type === 'ack' && m.seq >= seq, timeoutMs);
  }

  error(timeoutMs?: number) {
    return this.waitFor((m): m is Extract<TServerMessage, { type: 'error' }> => m.type === 'error', timeoutMs);
  }

  async waitClosed(timeoutMs = 5000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('the server did not close the connection');
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.closeCode ?? 0;
  }

  close(): void {
    this.ws.close();
  }
}
