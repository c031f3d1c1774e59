import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '@keel/testkit';
import type { TMemberValue } from '@keel/protocol';
import { DcsError, type Dcs, type LeaderEvent } from '../src/index.ts';

/** One cluster scope (fresh per test) in the DCS under test. */
export interface ContractCluster {
  /** A new agent connection to this scope (closed by the suite after the test). */
  agent(): Dcs;
  /** Writes any string under the scope (relative key, e.g. "members/x"), without a lease. */
  putRaw(relKey: string, value: string): Promise<void>;
  /** The raw stored value and lease of a key, or null. */
  getRaw(relKey: string): Promise<{ value: string; lease: string } | null>;
  /** Lets lease time pass: advances the test clock (memory); a no-op on etcd, where real time passes while we poll. */
  passTime(ms: number): Promise<void>;
  /** The DCS's notion of now (test clock or wall clock), in ms. */
  now(): number;
}

export interface ContractHarness {
  /** Lease TTL the tests use (seconds). */
  ttl: number;
  /** How long to poll for a lease to expire once it is no longer renewed. */
  expiryWaitMs: number;
  /** How long to wait for an ordinary watch event. */
  eventWaitMs: number;
  /** Pause between polls in loops that let time pass. */
  pollMs: number;
  /** False when the DCS cannot show another client's lease (ZooKeeper): leaseTimeToLive answers "unknown". */
  leaseTtlVisible?: boolean;
  cluster(): Promise<ContractCluster>;
}

const member = (name: string, extra: Partial<TMemberValue> = {}): TMemberValue => ({
  conn_url: 'postgres://127.0.0.1:5432/postgres',
  api_url: `http://127.0.0.1:8008/${name}`,
  state: 'running',
  role: 'replica',
  version: '4.1.4',
  xlog_location: 67393944,
  timeline: 2,
  tags: { nofailover: false, failover_priority: 1 },
  ...extra,
});

// Values copied from a real Patroni 3.0.2 cluster (shared/reference/patroni-3.0.2-samples/dcs_keys_decoded.json).
const PATRONI_SAMPLE: Record<string, string> = {
  config:
    '{"ttl":30,"loop_wait":10,"retry_timeout":10,"maximum_lag_on_failover":1048576,"synchronous_mode":true,"postgresql":{"use_pg_rewind":true,"use_slots":true,"parameters":{"wal_level":"replica","hot_standby":"on","max_wal_senders":10,"max_replication_slots":10,"wal_keep_size":"128MB","wal_log_hints":"on"}}}',
  failover: '{}',
  history: '[[1,67393448,"no recovery target specified","2026-11-26T11:11:30.267821+00:00","node3"]]',
  initialize: '7712435696824720731',
  leader: 'node3',
  'members/node1':
    '{"conn_url":"postgres://127.0.0.1:25432/postgres","api_url":"http://127.0.0.1:28008/patroni","state":"running","role":"replica","version":"3.0.2","xlog_location":67393944,"timeline":2}',
  'members/node3':
    '{"conn_url":"postgres://127.0.0.1:25434/postgres","api_url":"http://127.0.0.1:28010/patroni","state":"running","role":"master","version":"3.0.2","xlog_location":67393944,"timeline":2}',
  status: '{"optime":67393944}',
  sync: '{"leader":"node3","sync_standby":"node2"}',
};

/**
 * The behaviour every Dcs implementation must have. Called once per implementation; `harness` is
 * read lazily (at test time), so it may be set up in a beforeAll.
 */
export function defineDcsContract(getHarness: () => ContractHarness): void {
  const opened: Dcs[] = [];

  async function setup(): Promise<{ c: ContractCluster; h: ContractHarness; agent: () => Dcs }> {
    const h = getHarness();
    const c = await h.cluster();
    const agent = () => {
      const d = c.agent();
      opened.push(d);
      return d;
    };
    return { c, h, agent };
  }

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((d) => d.close().catch(() => undefined)));
  });

  async function expectDcsError(p: Promise<unknown>, code: DcsError['code'], op: string): Promise<DcsError> {
    const err = await p.then(
      () => {
        throw new Error(`expected ${op} to reject with DcsError(${code})`);
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DcsError);
    const d = err as DcsError;
    expect(d.code).toBe(code);
    expect(d.op).toBe(op);
    expect(d.message).toContain(op);
    return d;
  }

  describe('leases', () => {
    it('ensureLease returns the same id for the same ttl and a new one for another ttl', async () => {
      const { h, agent } = await setup();
      const a = agent();
      expect(a.leaseId).toBeNull();
      const id1 = await a.ensureLease(h.ttl);
      expect(id1).toMatch(/^[1-9][0-9]*$/);
      expect(a.leaseId).toBe(id1);
      expect(await a.ensureLease(h.ttl)).toBe(id1);
      const id2 = await a.ensureLease(h.ttl + 1);
      expect(id2).not.toBe(id1);
      expect(await a.keepAlive()).toBe(true);
    });

    it('after the lease expired: writes on it are refused, keepAlive is false, ensureLease grants a new one', async () => {
      const { c, h, agent } = await setup();
      const a = agent();
      expect(await a.keepAlive()).toBe(false);
      const id1 = await a.ensureLease(h.ttl);
      await a.touchMember('a', member('a'));
      await c.passTime(h.ttl * 1000 + 1000);
      await waitFor(async () => (await a.readCluster()).members.length === 0, {
        timeoutMs: h.expiryWaitMs,
        message: 'member key on the unrenewed lease expires',
      });
      // a write on the dead lease is refused, and the Dcs forgets the lease
      await expectDcsError(a.touchMember('a', member('a')), 'lease', 'touchMember');
      expect(a.leaseId).toBeNull();
      expect(await a.keepAlive()).toBe(false);
      const id2 = await a.ensureLease(h.ttl);
      expect(id2).not.toBe(id1);
      await a.touchMember('a', member('a'));
      expect((await a.readCluster()).members.map((m) => m.name)).toEqual(['a']);
    });

    it('renewals keep the leader and member keys alive past the ttl', async () => {
      const { c, h, agent } = await setup();
      const a = agent();
      await a.ensureLease(h.ttl);
      expect(await a.acquireLeader('a')).toBe(true);
      await a.touchMember('a', member('a'));
      const start = c.now();
      const outcome = await waitFor(
        async () => {
          if (!(await a.renewLeader('a'))) return 'lost';
          await c.passTime(500);
          return c.now() - start >= h.ttl * 1500 ? 'kept' : false;
        },
        { timeoutMs: h.ttl * 1500 + 10_000, intervalMs: h.pollMs, message: 'renewing for 1.5 x ttl' },
      );
      expect(outcome).toBe('kept');
      const snap = await a.readCluster();
      expect(snap.leader?.name).toBe('a');
      expect(snap.members.map((m) => m.name)).toEqual(['a']);
    });

    it('operations that need a lease reject with code "lease" when there is none', async () => {
      const { agent } = await setup();
      const a = agent();
      await expectDcsError(a.acquireLeader('a'), 'lease', 'acquireLeader');
      await expectDcsError(a.renewLeader('a'), 'lease', 'renewLeader');
      await expectDcsError(a.touchMember('a', member('a')), 'lease', 'touchMember');
    });
  });

  describe('leader lock', () => {
    it('acquire is exclusive between two agents', async () => {
      const { h, agent } = await setup();
      const a = agent();
      const b = agent();
      await a.ensureLease(h.ttl);
      await b.ensureLease(h.ttl);
      const [ra, rb] = await Promise.all([a.acquireLeader('a'), b.acquireLeader('b')]);
      expect([ra, rb].filter(Boolean)).toHaveLength(1);
      const winner = ra ? a : b;
      const winnerName = ra ? 'a' : 'b';
      const loser = ra ? b : a;
      const loserName = ra ? 'b' : 'a';
      expect(await loser.acquireLeader(loserName)).toBe(false);
      // a retried acquire by the holder (same lease) is idempotent
      expect(await winner.acquireLeader(winnerName)).toBe(true);
      const snap = await loser.readCluster();
      expect(snap.leader).toMatchObject({ name: winnerName, lease: winner.leaseId });
      expect(snap.leader!.modRevision).toBeGreaterThan(0);
    });

    it('renew succeeds for the holder and fails for anyone else', async () => {
      const { h, agent } = await setup();
      const a = agent();
      const b = agent();
      await a.ensureLease(h.ttl);
      await b.ensureLease(h.ttl);
      expect(await a.renewLeader('a')).toBe(false); // key absent
      expect(await a.acquireLeader('a')).toBe(true);
      expect(await a.renewLeader('a')).toBe(true);
      expect(await b.renewLeader('b')).toBe(false); // holds another name
      expect((await b.readCluster()).leader?.name).toBe('a');
    });

    it('renew fails after the lease expired and another agent took the key', async () => {
      const { c, h, agent } = await setup();
      const a = agent();
      const b = agent();
      await a.ensureLease(h.ttl);
      expect(await a.acquireLeader('a')).toBe(true);
      await c.passTime(h.ttl * 1000 + 1000);
      await waitFor(async () => (await b.readCluster()).leader === null, {
        timeoutMs: h.expiryWaitMs,
        message: 'leader key expires with its lease',
      });
      await b.ensureLease(h.ttl);
      expect(await b.acquireLeader('b')).toBe(true);
      expect(await a.renewLeader('a')).toBe(false);
      expect(a.leaseId).toBeNull();
      await a.ensureLease(h.ttl);
      expect(await a.renewLeader('a')).toBe(false);
      expect(await a.acquireLeader('a')).toBe(false);
      expect((await a.readCluster()).leader).toMatchObject({ name: 'b', lease: b.leaseId });
    });

    it('renew moves my key onto my new lease after ensureLease granted one', async () => {
      const { h, agent } = await setup();
      const a = agent();
      const old = await a.ensureLease(h.ttl);
      expect(await a.acquireLeader('a')).toBe(true);
      const fresh = await a.ensureLease(h.ttl + 1);
      expect(fresh).not.toBe(old);
      expect(await a.renewLeader('a')).toBe(true);
      expect((await a.readCluster()).leader).toMatchObject({ name: 'a', lease: fresh });
    });

    it('renew with the key as this tick read it: still true for the holder, still false once its lease is gone, and the old-lease key is still moved', async () => {
      const { c, h, agent } = await setup();
      const a = agent();
      const b = agent();
      await a.ensureLease(h.ttl);
      await b.ensureLease(h.ttl);
      expect(await a.acquireLeader('a')).toBe(true);
      const seen = (await a.readCluster()).leader!;
      expect(await a.renewLeader('a', seen)).toBe(true);
      expect(await b.renewLeader('b', seen)).toBe(false); // names a, not b
      // a snapshot on an older lease: the key is moved onto the new one, as without it
      const fresh = await a.ensureLease(h.ttl + 1);
      expect(await a.renewLeader('a', seen)).toBe(true);
      expect((await a.readCluster()).leader).toMatchObject({ name: 'a', lease: fresh });
      // the lease expired: the keepalive says so, whatever the snapshot said
      const seen2 = (await a.readCluster()).leader!;
      await c.passTime((h.ttl + 1) * 1000 + 1000);
      await waitFor(async () => (await b.readCluster()).leader === null, { timeoutMs: h.expiryWaitMs, message: 'leader key expires with its lease' });
      expect(await a.renewLeader('a', seen2)).toBe(false);
    });

    it('release only deletes my own key', async () => {
      const { h, agent } = await setup();
      const a = agent();
      const b = agent();
      await a.ensureLease(h.ttl);
      expect(await a.acquireLeader('a')).toBe(true);
      expect(await b.releaseLeader('b')).toBe(false);
      expect((await b.readCluster()).leader?.name).toBe('a');
      expect(await a.releaseLeader('a')).toBe(true);
      expect((await b.readCluster()).leader).toBeNull();
      expect(await a.releaseLeader('a')).toBe(false);
    });

    it('the leader key and members on the lease disappear when the lease expires; others stay', async () => {
      const { c, h, agent } = await setup();
      const a = agent();
      const b = agent();
      await a.ensureLease(h.ttl);
      await b.ensureLease(h.ttl);
      expect(await a.acquireLeader('a')).toBe(true);
      await a.touchMember('a', member('a', { role: 'primary' }));
      await b.touchMember('b', member('b'));
      await a.setStatus({ optime: 1 });
      let snap = await b.readCluster();
      expect(snap.members.map((m) => m.name)).toEqual(['a', 'b']);
      expect(snap.members.find((m) => m.name === 'a')!.lease).toBe(a.leaseId);

      const gone = await waitFor(
        async () => {
          if (!(await b.keepAlive())) return 'b lost its lease';
          await c.passTime(500);
          const s = await b.readCluster();
          return s.leader === null && s.members.length === 1 ? 'a expired' : false;
        },
        { timeoutMs: h.expiryWaitMs, intervalMs: h.pollMs, message: "a's keys expire while b keeps its lease" },
      );
      expect(gone).toBe('a expired');
      snap = await b.readCluster();
      expect(snap.members.map((m) => m.name)).toEqual(['b']);
      expect(snap.status).toEqual({ optime: 1 }); // not on a lease
    });
  });

  describe('members', () => {
    it('touchMember writes compact JSON on my lease; deleteMember removes it', async () => {
      const { c, h, agent } = await setup();
      const a = agent();
      const lease = await a.ensureLease(h.ttl);
      const v = member('a', { pending_restart: true, pending_restart_reason: { max_connections: { old_value: '100', new_value: '101' } } });
      await a.touchMember('a', v);
      expect(await c.getRaw('members/a')).toEqual({ value: JSON.stringify(v), lease });
      const snap = await a.readCluster();
      expect(snap.members).toHaveLength(1);
      expect(snap.members[0]).toMatchObject({ name: 'a', value: v, lease });
      await a.deleteMember('a');
      expect((await a.readCluster()).members).toEqual([]);
    });
  });

  describe('initialize', () => {
    it('claimInitialize is create-if-absent; setInitialize and deleteInitialize write bare strings', async () => {
      const { c, agent } = await setup();
      const a = agent();
      const b = agent();
      expect((await a.readCluster()).initialize).toBeNull();
      const [ra, rb] = await Promise.all([a.claimInitialize(''), b.claimInitialize('')]);
      expect([ra, rb].filter(Boolean)).toHaveLength(1);
      expect((await a.readCluster()).initialize).toBe('');
      await a.setInitialize('7712435696824720731');
      expect(await c.getRaw('initialize')).toEqual({ value: '7712435696824720731', lease: '0' });
      expect((await b.readCluster()).initialize).toBe('7712435696824720731');
      expect(await b.claimInitialize('')).toBe(false);
      await a.deleteInitialize();
      expect((await b.readCluster()).initialize).toBeNull();
      expect(await b.claimInitialize('1')).toBe(true);
    });
  });

  describe('config, failover, sync, history, status', () => {
    it('setConfig: create-if-absent with 0, compare-and-set on mod_revision, unconditional without', async () => {
      const { c, agent } = await setup();
      const a = agent();
      const b = agent();
      expect(await a.setConfig({ ttl: 30, loop_wait: 10 }, 0)).toBe(true);
      expect(await b.setConfig({ ttl: 99 }, 0)).toBe(false);
      const first = (await a.readCluster()).config!;
      expect(first.value).toEqual({ ttl: 30, loop_wait: 10 });
      expect(await c.getRaw('config')).toEqual({ value: '{"ttl":30,"loop_wait":10}', lease: '0' });
      // two PATCHes from the same read: the first wins, the second conflicts
      expect(await a.setConfig({ ttl: 40 }, first.modRevision)).toBe(true);
      expect(await b.setConfig({ ttl: 50 }, first.modRevision)).toBe(false);
      const second = (await b.readCluster()).config!;
      expect(second.value).toEqual({ ttl: 40 });
      expect(second.modRevision).toBeGreaterThan(first.modRevision);
      expect(await b.setConfig({ ttl: 60 })).toBe(true);
      expect((await a.readCluster()).config!.value).toEqual({ ttl: 60 });
    });

    it('failover: CAS writes and deletes', async () => {
      const { c, agent } = await setup();
      const a = agent();
      expect(await a.deleteFailover()).toBe(false);
      const written = await a.setFailover({ leader: 'a', member: 'b' }, 0);
      expect(await c.getRaw('failover')).toEqual({ value: '{"leader":"a","member":"b"}', lease: '0' });
      const f = (await a.readCluster()).failover!;
      expect(f.value).toEqual({ leader: 'a', member: 'b' });
      expect(written).toBe(f.modRevision); // the write answers the request's revision
      expect(await a.setFailover({ leader: 'a' }, 0)).toBeNull();
      expect(await a.deleteFailover(f.modRevision + 1000)).toBe(false);
      expect((await a.readCluster()).failover).not.toBeNull();
      expect(await a.deleteFailover(f.modRevision)).toBe(true);
      expect((await a.readCluster()).failover).toBeNull();
      expect(await a.deleteFailover(f.modRevision)).toBe(false);
      const rewritten = await a.setFailover({ leader: 'a', candidate: 'c', scheduled_at: '2026-01-14T10:09:57+00:00' });
      expect(rewritten).toBe((await a.readCluster()).failover!.modRevision);
      expect(await a.deleteFailover()).toBe(true);
    });

    it('sync, history and status round-trip as compact JSON', async () => {
      const { c, agent } = await setup();
      const a = agent();
      expect(await a.setSync({ leader: 'a', sync_standby: 'b' }, 0)).toBe(true);
      await a.setHistory([[1, 25623960, 'no recovery target specified', '2019-09-23T16:57:57+02:00', 'a']]);
      await a.setStatus({ optime: 67420024, slots: { b: 67420024 }, retain_slots: ['a', 'b'] });
      const snap = await a.readCluster();
      expect(snap.sync?.value).toEqual({ leader: 'a', sync_standby: 'b' });
      expect(snap.history).toEqual([[1, 25623960, 'no recovery target specified', '2019-09-23T16:57:57+02:00', 'a']]);
      expect(snap.status).toEqual({ optime: 67420024, slots: { b: 67420024 }, retain_slots: ['a', 'b'] });
      expect((await c.getRaw('history'))!.value).toBe('[[1,25623960,"no recovery target specified","2019-09-23T16:57:57+02:00","a"]]');
      expect((await c.getRaw('status'))!.value).toBe('{"optime":67420024,"slots":{"b":67420024},"retain_slots":["a","b"]}');
      expect(await a.setSync({ leader: 'a', sync_standby: null }, snap.sync!.modRevision)).toBe(true);
      expect(await a.setSync({ leader: 'x' }, snap.sync!.modRevision)).toBe(false);
    });

    it('failsafe: Patroni\'s compact JSON of member name -> api_url; null deletes the key', async () => {
      const { c, agent } = await setup();
      const a = agent();
      await a.setFailsafe({ a: 'http://127.0.0.1:8008/patroni', b: 'http://127.0.0.1:8009/patroni' });
      expect((await a.readCluster()).failsafe).toEqual({ a: 'http://127.0.0.1:8008/patroni', b: 'http://127.0.0.1:8009/patroni' });
      expect((await c.getRaw('failsafe'))!.value).toBe('{"a":"http://127.0.0.1:8008/patroni","b":"http://127.0.0.1:8009/patroni"}');
      await a.setFailsafe(null);
      expect((await a.readCluster()).failsafe).toBeNull();
      expect(await c.getRaw('failsafe')).toBeNull();
    });
  });

  describe('early takeover (synchronous mode)', () => {
    it('leaseTimeToLive shows a lease near its ttl while kept alive, below it when not, gone when expired', async () => {
      const { c, h, agent } = await setup();
      const a = agent();
      const b = agent();
      const T = 10;
      const id = await a.ensureLease(T);
      if (h.leaseTtlVisible === false) {
        expect(await b.leaseTimeToLive(id)).toEqual({ state: 'unknown' });
        return;
      }
      const fresh = await b.leaseTimeToLive(id);
      expect(fresh).toMatchObject({ state: 'alive', grantedTtl: T });
      expect(fresh.state === 'alive' && fresh.ttl).toBeGreaterThanOrEqual(T - 2);
      await c.passTime(2000);
      await waitFor(
        async () => {
          const t = await b.leaseTimeToLive(id);
          return t.state === 'alive' && t.ttl <= T - 2;
        },
        { timeoutMs: h.expiryWaitMs, intervalMs: h.pollMs, message: 'the remaining ttl falls while nobody keeps the lease alive' },
      );
      expect(await a.keepAlive()).toBe(true);
      const kept = await b.leaseTimeToLive(id);
      expect(kept.state === 'alive' && kept.ttl).toBeGreaterThanOrEqual(T - 1);
      expect(await b.leaseTimeToLive('12345')).toEqual({ state: 'gone' });
      expect(await b.leaseTimeToLive('not-a-lease')).toEqual({ state: 'gone' });
      const short = await b.ensureLease(h.ttl);
      await c.passTime(h.ttl * 1000 + 1000);
      await waitFor(async () => (await a.leaseTimeToLive(short)).state === 'gone', {
        timeoutMs: h.expiryWaitMs,
        intervalMs: h.pollMs,
        message: 'an expired lease is gone',
      });
    });

    it('takeOverLeader replaces the leader key only if leader and /sync are unchanged and /sync lists me', async () => {
      const { h, agent } = await setup();
      const a = agent();
      const b = agent();
      const cc = agent();
      await a.ensureLease(h.ttl);
      await b.ensureLease(h.ttl);
      await cc.ensureLease(h.ttl);
      expect(await a.acquireLeader('a')).toBe(true);
      expect(await a.setSync({ leader: 'a', sync_standby: 'b' }, 0, 'a')).toBe(true);
      const snap = await b.readCluster();
      const req = { name: 'b', oldLeader: 'a', leaderModRevision: snap.leader!.modRevision, syncModRevision: snap.sync!.modRevision };
      // c is not listed in /sync: refused, nothing written.
      expect(await cc.takeOverLeader({ ...req, name: 'c' })).toBe(false);
      // Stale revisions or another old leader: refused.
      expect(await b.takeOverLeader({ ...req, leaderModRevision: req.leaderModRevision - 1 })).toBe(false);
      expect(await b.takeOverLeader({ ...req, syncModRevision: req.syncModRevision + 100 })).toBe(false);
      expect(await b.takeOverLeader({ ...req, oldLeader: 'x' })).toBe(false);
      // The leader's renewals do not change the key's mod revision: still possible after one.
      expect(await a.renewLeader('a')).toBe(true);
      expect((await b.readCluster()).leader).toMatchObject({ name: 'a', lease: a.leaseId });
      expect(await b.takeOverLeader(req)).toBe(true);
      expect((await b.readCluster()).leader).toMatchObject({ name: 'b', lease: b.leaseId });
      // The old leader has lost the lock: renewals and its conditional /sync writes fail.
      expect(await a.renewLeader('a')).toBe(false);
      expect(await a.setSync({ leader: 'a', sync_standby: null }, req.syncModRevision, 'a')).toBe(false);
      expect((await b.readCluster()).sync?.value).toEqual({ leader: 'a', sync_standby: 'b' });
      // A second takeover with the same (now stale) reading fails.
      expect(await b.takeOverLeader(req)).toBe(false);
    });

    it('takeOverLeader fails when /sync changed after the reading, even back to a value listing me', async () => {
      const { h, agent } = await setup();
      const a = agent();
      const b = agent();
      await a.ensureLease(h.ttl);
      await b.ensureLease(h.ttl);
      expect(await a.acquireLeader('a')).toBe(true);
      expect(await a.setSync({ leader: 'a', sync_standby: 'b' }, 0, 'a')).toBe(true);
      const snap = await b.readCluster();
      expect(await a.setSync({ leader: 'a', sync_standby: 'b' }, snap.sync!.modRevision, 'a')).toBe(true);
      expect(
        await b.takeOverLeader({ name: 'b', oldLeader: 'a', leaderModRevision: snap.leader!.modRevision, syncModRevision: snap.sync!.modRevision }),
      ).toBe(false);
      expect((await b.readCluster()).leader?.name).toBe('a');
    });

    it('setSync with whileLeader writes only while that member holds the leader key', async () => {
      const { agent } = await setup();
      const a = agent();
      await a.ensureLease(30);
      expect(await a.setSync({ leader: 'a', sync_standby: 'b' }, 0, 'a')).toBe(false); // no leader key
      expect(await a.acquireLeader('a')).toBe(true);
      expect(await a.setSync({ leader: 'a', sync_standby: 'b' }, 0, 'b')).toBe(false);
      expect(await a.setSync({ leader: 'a', sync_standby: 'b' }, 0, 'a')).toBe(true);
      const rev = (await a.readCluster()).sync!.modRevision;
      expect(await a.setSync({ leader: 'a', sync_standby: null }, rev + 1, 'a')).toBe(false);
      expect(await a.setSync({ leader: 'a', sync_standby: null }, rev, 'a')).toBe(true);
      expect((await a.readCluster()).sync?.value).toEqual({ leader: 'a', sync_standby: null });
    });
  });

  describe('readCluster', () => {
    it('parses the keys of a real Patroni 3.0.2 cluster', async () => {
      const { c, agent } = await setup();
      for (const [k, v] of Object.entries(PATRONI_SAMPLE)) await c.putRaw(k, v);
      await c.putRaw('unrelated/key', 'whatever');
      const snap = await agent().readCluster();
      expect(snap.warnings).toEqual([]);
      expect(snap.revision).toBeGreaterThan(0);
      expect(snap.initialize).toBe('7712435696824720731');
      expect(snap.leader).toMatchObject({ name: 'node3', lease: '0' });
      expect(snap.members.map((m) => m.name)).toEqual(['node1', 'node3']);
      expect(snap.members[1]!.value).toMatchObject({ role: 'master', xlog_location: 67393944, timeline: 2, version: '3.0.2' });
      expect(snap.config?.value).toMatchObject({ ttl: 30, synchronous_mode: true, postgresql: { use_slots: true } });
      expect(snap.config!.modRevision).toBeGreaterThan(0);
      expect(snap.history).toEqual([[1, 67393448, 'no recovery target specified', '2026-11-26T11:11:30.267821+00:00', 'node3']]);
      expect(snap.status).toEqual({ optime: 67393944 });
      expect(snap.failover?.value).toEqual({});
      expect(snap.sync?.value).toEqual({ leader: 'node3', sync_standby: 'node2' });
      expect(snap.failsafe).toBeNull();
    });

    it('is one consistent snapshot: every mod revision is at most the snapshot revision', async () => {
      const { h, agent } = await setup();
      const a = agent();
      await a.ensureLease(h.ttl);
      await a.acquireLeader('a');
      await a.touchMember('a', member('a'));
      await a.setConfig({ ttl: 30 });
      const snap = await a.readCluster();
      const revs = [snap.leader!.modRevision, snap.config!.modRevision, ...snap.members.map((m) => m.modRevision)];
      for (const r of revs) expect(r).toBeLessThanOrEqual(snap.revision);
      expect(new Set(revs).size).toBe(revs.length);
    });

    it('bad values give warnings, not a throw', async () => {
      const { c, h, agent } = await setup();
      const a = agent();
      await a.ensureLease(h.ttl);
      await a.touchMember('good', member('good'));
      await c.putRaw('members/bad', '{not json');
      await c.putRaw('members/wrongshape', '{"conn_url":5}');
      await c.putRaw('config', '{"ttl":');
      await c.putRaw('history', 'oops');
      await c.putRaw('status', '[]');
      await c.putRaw('sync', '{');
      await c.putRaw('failover', '{"leader":');
      await c.putRaw('leader', 'x');
      const snap = await a.readCluster();
      expect(snap.members.map((m) => m.name)).toEqual(['good']);
      expect(snap.config).toBeNull();
      expect(snap.history).toBeNull();
      expect(snap.status).toBeNull();
      expect(snap.sync).toBeNull();
      expect(snap.failover).toBeNull();
      expect(snap.leader?.name).toBe('x');
      expect(snap.warnings).toHaveLength(7);
      for (const key of ['members/bad', 'members/wrongshape', 'config', 'history', 'status', 'sync', 'failover']) {
        expect(snap.warnings.some((w) => w.startsWith(`${key}: `))).toBe(true);
      }
      expect(snap.warnings.find((w) => w.startsWith('members/bad'))).toContain('invalid JSON');
    });

    it('reads the legacy failover text form and the legacy optime/leader key', async () => {
      const { c, agent } = await setup();
      await c.putRaw('failover', 'node1:node2');
      await c.putRaw('optime/leader', '67420024');
      const snap = await agent().readCluster();
      expect(snap.failover?.value).toEqual({ leader: 'node1', member: 'node2' });
      expect(snap.status).toEqual({ optime: 67420024 });
      expect(snap.warnings).toEqual([]);
    });
  });

  describe('watchLeader', () => {
    it('sees put, delete and the lease-expiry delete; stops after cancel', async () => {
      const { c, h, agent } = await setup();
      const a = agent();
      const b = agent();
      const w = agent();
      const events: LeaderEvent[] = [];
      const cancel = await w.watchLeader((e) => events.push(e));
      const seen = (n: number, message: string) =>
        waitFor(() => events.length >= n, { timeoutMs: h.eventWaitMs, message: `${message}; events so far: ${JSON.stringify(events)}` });

      await a.ensureLease(h.ttl);
      expect(await a.acquireLeader('a')).toBe(true);
      await seen(1, 'put on acquire');
      expect(events[0]).toEqual({ type: 'put', value: 'a' });

      expect(await a.releaseLeader('a')).toBe(true);
      await seen(2, 'delete on release');
      expect(events[1]).toEqual({ type: 'delete', value: null });

      await b.ensureLease(h.ttl);
      expect(await b.acquireLeader('b')).toBe(true);
      await seen(3, 'put by b');
      expect(events[2]).toEqual({ type: 'put', value: 'b' });

      await c.passTime(h.ttl * 1000 + 1000);
      await waitFor(() => events.length >= 4, { timeoutMs: h.expiryWaitMs, message: 'delete when the lease expires' });
      expect(events[3]).toEqual({ type: 'delete', value: null });

      await cancel();
      // a's lease expired as well (it was not renewed): the agent's protocol is keepAlive → ensureLease
      expect(await a.keepAlive()).toBe(false);
      await a.ensureLease(h.ttl);
      expect(await a.acquireLeader('a')).toBe(true);
      // A second watch seeing the delete shows the events were sent; the cancelled one must not get them.
      const later: LeaderEvent[] = [];
      const cancel2 = await b.watchLeader((e) => later.push(e));
      expect(await a.releaseLeader('a')).toBe(true);
      await waitFor(() => later.length >= 1, { timeoutMs: h.eventWaitMs, message: 'second watch sees the delete' });
      await cancel2();
      expect(events).toHaveLength(4);
    });

    it('a throwing callback does not break the watch', async () => {
      const { h, agent } = await setup();
      const a = agent();
      const w = agent();
      const events: LeaderEvent[] = [];
      await w.watchLeader((e) => {
        events.push(e);
        throw new Error('callback bug');
      });
      await a.ensureLease(h.ttl);
      await a.acquireLeader('a');
      await a.releaseLeader('a');
      await waitFor(() => events.length >= 2, { timeoutMs: h.eventWaitMs, message: 'both events despite the throw' });
    });
  });

  describe('watchMembers', () => {
    it('reports a member when its key is created, again after it expired, never for its updates', async () => {
      const { c, h, agent } = await setup();
      const a = agent();
      const b = agent();
      const w = agent();
      const joins: string[] = [];
      const cancel = await w.watchMembers((name) => joins.push(name));
      const seen = (n: number, message: string) => waitFor(() => joins.length >= n, { timeoutMs: h.eventWaitMs, message: `${message}; joins so far: ${JSON.stringify(joins)}` });

      await a.ensureLease(h.ttl);
      await a.touchMember('a', member('a'));
      await seen(1, 'a registers');
      await a.touchMember('a', member('a', { xlog_location: 99 }));
      await b.ensureLease(h.ttl);
      await b.touchMember('b', member('b'));
      await seen(2, 'b registers');
      // a's update came before b's creation: had it been reported, it would be second
      expect(joins).toEqual(['a', 'b']);

      // a's key expires with its lease; its next registration is a join again
      await c.passTime(h.ttl * 1000 + 1000);
      await waitFor(async () => (await w.readCluster()).members.length === 0, { timeoutMs: h.expiryWaitMs, message: 'member keys expire' });
      expect(await a.keepAlive()).toBe(false); // the agent's protocol: keepAlive, then ensureLease
      await a.ensureLease(h.ttl);
      await a.touchMember('a', member('a'));
      await seen(3, 'a registers again after its key expired');
      expect(joins).toEqual(['a', 'b', 'a']);

      await cancel();
      await a.deleteMember('a');
      await a.touchMember('a', member('a'));
      // a second watch seeing the join shows it was sent; the cancelled one must not get it
      const later: string[] = [];
      const cancel2 = await b.watchMembers((name) => later.push(name));
      await a.deleteMember('a');
      await a.touchMember('a', member('a'));
      await waitFor(() => later.length >= 1, { timeoutMs: h.eventWaitMs, message: 'second watch sees the join' });
      await cancel2();
      expect(later).toEqual(['a']);
      expect(joins).toHaveLength(3);
    });
  });

  describe('close', () => {
    it('rejects every call afterwards with code "closed"', async () => {
      const { agent } = await setup();
      const a = agent();
      await a.readCluster();
      await a.close();
      await expectDcsError(a.readCluster(), 'closed', 'readCluster');
      await expectDcsError(a.setConfig({}), 'closed', 'setConfig');
      await a.close(); // idempotent
    });
  });
}
