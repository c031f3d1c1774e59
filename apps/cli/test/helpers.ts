import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCluster, type ClusterSnapshot, type RawKv } from '@keel/dcs';
import { dcsKeys, type TMemberValue } from '@keel/protocol';
import type { Ctl, Io, RequestOptions, RestResponse, Target } from '../src/context.ts';
import { usageError } from '../src/errors.ts';
import type { CtlSettings } from '../src/settings.ts';

export const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');

export function fixture(name: string): string {
  return fs.readFileSync(path.join(FIXTURES, name), 'utf8');
}

/** A ClusterSnapshot from one of the decoded etcd dumps (through the parser keelctl itself uses). */
export function snapshotFromDump(name: string, scope = 'bench'): ClusterSnapshot {
  const kvs = JSON.parse(fixture(name)) as Array<{ key: string; value: string; create_revision: number; mod_revision: number; lease: number | null }>;
  const raw: RawKv[] = kvs.map((kv) => ({
    key: kv.key,
    value: kv.value,
    createRevision: kv.create_revision,
    modRevision: kv.mod_revision,
    lease: kv.lease === null ? '0' : String(kv.lease),
  }));
  return parseCluster(dcsKeys('/service/', scope), Math.max(...raw.map((r) => r.modRevision)), raw);
}

/** Builder of small snapshots for command tests. */
export class SnapshotBuilder {
  private readonly snap: ClusterSnapshot = {
    revision: 10,
    initialize: '7000000000000000001',
    config: { value: { ttl: 30, loop_wait: 10, retry_timeout: 10, postgresql: { parameters: { max_connections: 100 } } }, modRevision: 5 },
    leader: null,
    members: [],
    history: [],
    status: null,
    failover: null,
    sync: null,
    failsafe: null,
    warnings: [],
  };

  member(name: string, value: Partial<TMemberValue> = {}, port = 5432 + this.snap.members.length): this {
    const api = 8008 + this.snap.members.length;
    this.snap.members.push({
      name,
      value: {
        conn_url: `postgres://127.0.0.1:${port}/postgres`,
        api_url: `http://127.0.0.1:${api}/patroni`,
        state: 'running',
        role: 'replica',
        version: '0.1.0',
        xlog_location: 1000,
        timeline: 1,
        ...value,
      },
      lease: '1',
      modRevision: 7,
    });
    this.snap.members.sort((a, b) => a.name.localeCompare(b.name));
    return this;
  }

  leader(name: string): this {
    this.snap.leader = { name, lease: '1', modRevision: 8 };
    const m = this.snap.members.find((x) => x.name === name);
    if (m) m.value.role = 'primary';
    return this;
  }

  config(value: Record<string, unknown>, modRevision = 5): this {
    this.snap.config = { value, modRevision };
    return this;
  }

  status(optime: number): this {
    this.snap.status = { optime };
    return this;
  }

  build(): ClusterSnapshot {
    return structuredClone(this.snap);
  }
}

export interface RecordedRequest {
  member: string;
  method: string;
  endpoint: string;
  body?: unknown;
}

type Responder = (req: RecordedRequest) => RestResponse | Error;

/** A Ctl whose cluster reads and REST answers are scripted, and whose output is captured. */
export class FakeCtl implements Ctl {
  readonly outLines: string[] = [];
  readonly errLines: string[] = [];
  readonly requests: RecordedRequest[] = [];
  readonly answers: string[];
  readonly settings: CtlSettings;
  readonly io: Io;
  private reads = 0;

  constructor(
    private readonly snapshots: ClusterSnapshot[],
    private readonly respond: Responder = () => ({ status: 200, text: 'OK' }),
    opts: { interactive?: boolean; answers?: string[]; scope?: string | null } = {},
  ) {
    this.answers = [...(opts.answers ?? [])];
    this.settings = {
      scope: opts.scope === undefined ? 'demo' : opts.scope,
      namespace: '/service/',
      etcdHosts: ['http://127.0.0.1:2379'],
      zookeeperHosts: null,
      etcdAuth: null,
      restAuth: { username: 'u', password: 'p' },
      etcdTls: null,
      restTls: { insecure: false },
      configFile: null,
      dcsTimeoutMs: 5000,
    };
    const answers = this.answers;
    this.io = {
      out: (t) => void this.outLines.push(t),
      err: (t) => void this.errLines.push(t),
      interactive: opts.interactive ?? false,
      stdoutIsTTY: false,
      ask: async (q) => {
        this.outLines.push(q);
        return answers.shift() ?? '';
      },
    };
  }

  get out(): string {
    return this.outLines.join('\n');
  }

  scope(override?: string): string {
    const s = override ?? this.settings.scope;
    if (!s) throw usageError('no cluster given');
    return s;
  }

  async readCluster(): Promise<ClusterSnapshot> {
    const s = this.snapshots[Math.min(this.reads, this.snapshots.length - 1)]!;
    this.reads++;
    return structuredClone(s);
  }

  async request(t: Target, method: string, endpoint: string, opts: RequestOptions = {}): Promise<RestResponse> {
    const req: RecordedRequest = { member: t.name, method, endpoint, ...(opts.body !== undefined ? { body: opts.body } : {}) };
    this.requests.push(req);
    const r = this.respond(req);
    if (r instanceof Error) throw r;
    return r;
  }

  async close(): Promise<void> {}
}
