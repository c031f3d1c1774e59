import pg from 'pg';
import type { Member, TestCluster } from '../cluster.ts';
import type { AckedWrite } from './checkers.ts';

// The timeline the commit happened on: the first 8 hex digits of the current WAL file's name. One
// statement in autocommit, so the row returned is part of the acknowledgement.
const INSERT = (table: string) =>
  `INSERT INTO ${table} (id, node) VALUES ($1, $2) RETURNING ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int AS tli`;

/**
 * One writer pinned to each member, for the fault suite: each keeps inserting rows into its own
 * member whenever that member accepts writes (a replica refuses them: retried after a pause), so
 * two members accepting writes at once shows up in the history. Every acknowledged write is kept
 * with the node, the timeline and the client's send and acknowledgement times.
 *
 * Never a server-side statement_timeout or a query cancel: PostgreSQL acknowledges a commit whose
 * wait for the synchronous standby was cancelled (with a WARNING), which would be recorded as an
 * acknowledged write that was never replicated. A write that takes too long is abandoned by closing
 * the connection instead, and a commit that came with that warning is not counted as acknowledged.
 */
export class PinnedWriters {
  readonly acked: AckedWrite[] = [];
  attempts = 0;
  /** Commits PostgreSQL acknowledged with "might not have been replicated" (not in `acked`). */
  unsafeAcks = 0;
  private stopped = false;
  private seq = 0;
  private running: Promise<void>[] = [];

  constructor(
    private readonly c: TestCluster,
    readonly table: string,
    private readonly opts: { pauseMs?: number; refusedPauseMs?: number; timeoutMs?: number } = {},
  ) {}

  static async createTable(m: Member, table: string): Promise<void> {
    await m.sql(`CREATE TABLE IF NOT EXISTS ${table} (id bigint primary key, node text not null, at timestamptz default clock_timestamp())`);
  }

  start(): void {
    if (this.running.length) return;
    this.running = this.c.members.map((m) => this.loop(m));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.running);
  }

  /** Acknowledged writes after `t` (ms). */
  ackedSince(t: number): number {
    let n = 0;
    for (let k = this.acked.length - 1; k >= 0 && this.acked[k]!.ackedAt > t; k--) n++;
    return n;
  }

  private async loop(m: Member): Promise<void> {
    const pause = this.opts.pauseMs ?? 5;
    const refusedPause = this.opts.refusedPauseMs ?? 50;
    const timeoutMs = this.opts.timeoutMs ?? 5000;
    let client: pg.Client | null = null;
    let warned = false;
    const drop = () => {
      const cl = client;
      client = null;
      // Closing the socket abandons the statement without a cancel request.
      cl?.end().catch(() => undefined);
    };
    while (!this.stopped) {
      try {
        if (!client) {
          const cl = new pg.Client({
            host: '127.0.0.1',
            port: m.pgPort,
            user: this.c.credentials.superuser.username,
            password: this.c.credentials.superuser.password,
            database: 'postgres',
            connectionTimeoutMillis: 1000,
          });
          cl.on('error', () => undefined);
          cl.on('notice', (n) => {
            if (/might not have been replicated|canceling wait for synchronous replication/i.test(n.message ?? '')) warned = true;
          });
          client = cl;
          await cl.connect();
        }
        const id = ++this.seq;
        warned = false;
        const sentAt = Date.now();
        this.attempts++;
        let timer: NodeJS.Timeout | undefined;
        const res = await Promise.race([
          client.query<{ tli: number }>(INSERT(this.table), [id, m.name]),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error('write timed out')), timeoutMs);
          }),
        ]).finally(() => clearTimeout(timer));
        const ackedAt = Date.now();
        if (warned) this.unsafeAcks++;
        else this.acked.push({ id, node: m.name, timeline: Number(res.rows[0]!.tli), sentAt, ackedAt });
        await new Promise((r) => setTimeout(r, pause));
      } catch (e) {
        const readOnly = /read-only/i.test((e as Error).message);
        if (!readOnly) drop();
        await new Promise((r) => setTimeout(r, refusedPause));
      }
    }
    drop();
  }
}
