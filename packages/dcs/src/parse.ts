import {
  ZDynamicConfig,
  ZFailoverValue,
  ZHistory,
  ZMemberValue,
  ZStatus,
  ZSyncValue,
  type DcsKeys,
  type TFailoverValue,
} from '@keel/protocol';
import { z } from 'zod';
import type { ClusterSnapshot, MemberRecord } from './types.ts';

/** One key as read from the store, before parsing. */
export interface RawKv {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
  /** Decimal lease id; "0" when the key has no lease. */
  lease: string;
}

function issues(err: z.ZodError): string {
  return err.issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}

type Parsed<T> = { ok: true; value: T } | { ok: false; why: string };

function parseJson<T>(raw: string, schema: z.ZodType<T>): Parsed<T> {
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch (err) {
    return { ok: false, why: `invalid JSON (${(err as Error).message})` };
  }
  const res = schema.safeParse(data);
  if (!res.success) return { ok: false, why: `unexpected value (${issues(res.error)})` };
  return { ok: true, value: res.data };
}

/** Patroni's Failover.from_node also accepts the legacy "leader:candidate" text form. */
function parseFailover(raw: string): Parsed<TFailoverValue> {
  if (raw.trim() === '') return { ok: true, value: {} };
  const json = parseJson(raw, ZFailoverValue);
  if (json.ok || raw.trim().startsWith('{') || raw.trim().startsWith('[')) return json;
  const [leader, candidate] = raw.split(':').map((s) => s.trim());
  const value: TFailoverValue = {};
  if (leader) value.leader = leader;
  if (candidate) value.member = candidate;
  return { ok: true, value };
}

const ZFailsafe = z.record(z.string(), z.string());

/**
 * Turns the key/values under keys.base into a ClusterSnapshot. Never throws on bad values: it
 * records a warning and leaves the member out / the field null.
 */
export function parseCluster(keys: DcsKeys, revision: number, kvs: readonly RawKv[]): ClusterSnapshot {
  const snap: ClusterSnapshot = {
    revision,
    initialize: null,
    config: null,
    leader: null,
    members: [],
    history: null,
    status: null,
    failover: null,
    sync: null,
    failsafe: null,
    warnings: [],
  };
  let legacyOptime: number | null = null;
  const members: MemberRecord[] = [];
  const warn = (kv: RawKv, why: string) => snap.warnings.push(`${kv.key.slice(keys.base.length)}: ${why}`);
  const unreadable = (kv: RawKv, key: 'config' | 'failover' | 'sync', why: string) => {
    warn(kv, `${why}; treated as absent (a write replaces it)`);
    snap.unreadable = { ...snap.unreadable, [key]: kv.modRevision };
  };

  for (const kv of kvs) {
    if (!kv.key.startsWith(keys.base)) continue;
    const rel = kv.key.slice(keys.base.length);
    if (rel.startsWith('members/')) {
      const name = rel.slice('members/'.length);
      if (!name || name.includes('/')) continue;
      const p = parseJson(kv.value, ZMemberValue);
      if (p.ok) members.push({ name, value: p.value, lease: kv.lease, modRevision: kv.modRevision });
      else warn(kv, `${p.why}; member left out`);
      continue;
    }
    switch (rel) {
      case 'initialize':
        snap.initialize = kv.value;
        break;
      case 'leader':
        snap.leader = { name: kv.value, lease: kv.lease, modRevision: kv.modRevision };
        break;
      case 'config': {
        const p = parseJson(kv.value, ZDynamicConfig);
        if (p.ok) snap.config = { value: p.value, modRevision: kv.modRevision };
        else unreadable(kv, 'config', p.why);
        break;
      }
      case 'history': {
        const p = parseJson(kv.value, ZHistory);
        if (p.ok) snap.history = p.value;
        else warn(kv, `${p.why}; treated as absent`);
        break;
      }
      case 'status': {
        const p = parseJson(kv.value, ZStatus);
        if (p.ok) snap.status = p.value;
        else warn(kv, `${p.why}; treated as absent`);
        break;
      }
      case 'optime/leader': {
        const n = Number(kv.value);
        if (kv.value.trim() !== '' && Number.isFinite(n)) legacyOptime = n;
        else warn(kv, 'not a number; ignored');
        break;
      }
      case 'failover': {
        const p = parseFailover(kv.value);
        if (p.ok) snap.failover = { value: p.value, modRevision: kv.modRevision };
        else unreadable(kv, 'failover', p.why);
        break;
      }
      case 'sync': {
        const p = parseJson(kv.value, ZSyncValue);
        if (p.ok) snap.sync = { value: p.value, modRevision: kv.modRevision };
        else unreadable(kv, 'sync', p.why);
        break;
      }
      case 'failsafe': {
        const p = parseJson(kv.value, ZFailsafe);
        if (p.ok) snap.failsafe = p.value;
        else warn(kv, `${p.why}; treated as absent`);
        break;
      }
      default:
        break; // other keys (Citus groups, foreign data) are not ours to judge
    }
  }
  if (snap.status === null && legacyOptime !== null) snap.status = { optime: legacyOptime };
  snap.members = members.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return snap;
}

/**
 * The mod revision a compare-and-set write of `key` must name: the parsed value's, else that of a
 * value that exists but could not be parsed (the write replaces it), else 0 (create it).
 */
export function writableRevision(snap: ClusterSnapshot | null | undefined, key: 'config' | 'failover' | 'sync'): number {
  return snap?.[key]?.modRevision ?? snap?.unreadable?.[key] ?? 0;
}
