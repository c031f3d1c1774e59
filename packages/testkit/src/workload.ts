import pg from 'pg';
import type { TestCluster } from './cluster.ts';

/**
 * A client that writes one row at a time to whichever member accepts it, as an application behind
 * a dumb connection list would: on any error it reconnects to the next member. It remembers every
 * acknowledged write and when it was acknowledged, so tests and benchmarks can check that no
 * acknowledged write was lost and measure how long writes were unavailable.
 */
export class WriteWorkload {
  readonly acked: Array<{ id: number; at: number }> = [];
  failures = 0;
  private stopped = false;
  private seq = 0;
  private running: Promise<void> | null = null;

  constructor(
    private readonly c: TestCluster,
    private readonly table: string,
    private readonly pauseMs = 2,
  ) {}

  start(): void {
    this.running ??= this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  /** Acknowledged ids that `rows` (the ids now on the primary) does not contain. */
  lost(rows: Iterable<number>, before = Infinity): number[] {
    const present = new Set(rows);
    return this.acked.filter((a) => a.at < before && !present.has(a.id)).map((a) => a.id);
  }

  /** The longest gap between consecutive acknowledgements that overlaps [from, to] (ms). */
  maxGap(from: number, to: number): number {
    const ts = this.acked.map((a) => a.at);
    let gap = 0;
    for (let k = 1; k < ts.length; k++) if (ts[k]! >= from && ts[k - 1]! <= to) gap = Math.max(gap, ts[k]! - ts[k - 1]!);
    return gap;
  }

  private async loop(): Promise<void> {
    let client: pg.Client | null = null;
    let i = 0;
    while (!this.stopped) {
      const id = ++this.seq;
      try {
        if (!client) {
          const m = this.c.members[i++ % this.c.members.length]!;
          client = new pg.Client({
            host: '127.0.0.1',
            port: m.pgPort,
            user: this.c.credentials.superuser.username,
            password: this.c.credentials.superuser.password,
            database: 'postgres',
            connectionTimeoutMillis: 300,
            statement_timeout: 2000,
          });
          client.on('error', () => undefined);
          await client.connect();
        }
        await client.query(`INSERT INTO ${this.table} (id) VALUES ($1)`, [id]);
        this.acked.push({ id, at: Date.now() });
      } catch {
        this.failures++;
        await client?.end().catch(() => undefined);
        client = null;
        continue;
      }
      await new Promise((r) => setTimeout(r, this.pauseMs));
    }
    await client?.end().catch(() => undefined);
  }
}
