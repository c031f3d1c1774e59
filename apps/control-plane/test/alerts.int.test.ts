/**
 * Alerts end to end on a real database and real HTTP receivers started here: a rule fires, the
 * notice goes to a generic webhook (HMAC-signed) that answers 500 twice and then 200, to a
 * PagerDuty-shaped receiver, and to a Slack-shaped one that refuses connections until it is started;
 * retries back off and are persisted (the later rounds run on a new database client, as after a
 * restart); the alert is not repeated while open; when the condition clears a recovery notice goes to
 * every channel. The delivery clock is injected, so backoff needs no waiting.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateControlPlaneDb, startControlPlaneDb, type ControlPlaneDb } from '@keel/testkit';
import { createDb, type TDb } from '../server/db.ts';
import type { TActor } from '../server/lib/actor.ts';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifySignature } from '../server/lib/alerts/payloads.ts';
import { deliverDueAlerts } from '../server/services/deliver-alerts.ts';
import { evaluateAlerts } from '../server/services/evaluate-alerts.ts';
import { checkAlertKey, createChannel, listChannels, listDeliveries, setRule } from '../server/services/manage-alerts.ts';
import { snapshot } from './support/builders.ts';

interface TReceived {
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A receiver that records every request and answers with the next status from `statuses` (then 200). */
async function receiver(statuses: number[] = [], port = 0): Promise<{ url: string; port: number; got: TReceived[]; close: () => Promise<void> }> {
  const got: TReceived[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.writeHead(statuses.shift() ?? 200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const p = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${p}/hook/path-secret`, port: p, got, close: () => new Promise((r) => server.close(() => r())) };
}

async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

let db: ControlPlaneDb;
let prisma: TDb;
const receivers: { close: () => Promise<void> }[] = [];
const KEY = randomBytes(32);
const SECRET = 'whsec-0123456789abcdef';
const ROUTING_KEY = 'pd-routing-key-abc';
const admin: TActor = { userId: 'u-admin', email: 'admin@keel.test', role: 'admin', channel: 'session', address: '127.0.0.1' };
const operator: TActor = { userId: 'u-op', email: 'op@keel.test', role: 'operator', channel: 'session', address: '127.0.0.1' };
const deps = () => ({ db: prisma, env: { KEEL_CP_ALERT_KEY: KEY.toString('hex'), KEEL_CP_SECRET: 'x'.repeat(40) } as never });
const RETRY = { firstDelayMs: 5_000, factor: 2, maxDelayMs: 60_000, maxAttempts: 5 };

beforeAll(async () => {
  db = await startControlPlaneDb();
  await migrateControlPlaneDb(db.databaseUrl);
  prisma = createDb(db.databaseUrl);
}, 180_000);

afterAll(async () => {
  for (const r of receivers) await r.close();
  await prisma?.$disconnect();
  await db?.stop();
});

async function setMember(clusterId: string, name: string, over: Parameters<typeof snapshot>[1]) {
  const s = snapshot(1, { leader: 'pg0', ...over });
  await prisma.member.upsert({
    where: { clusterId_name: { clusterId, name } },
    create: { clusterId, name, snapshot: s as never, lastSeenAt: new Date(), lastSeq: 1n },
    update: { snapshot: s as never, lastSeenAt: new Date() },
  });
}

describe('alerts delivered to real webhook receivers', () => {
  it('fire, retry with backoff until delivered, no repeat while open, recover', async () => {
    const hook = await receiver([500, 500]);
    const pd = await receiver([202]);
    const slackPort = await freePort(); // nothing listens yet: connection refused
    receivers.push(hook, pd);

    // channels are an admin's business, and their secrets never come back
    await expect(createChannel(deps(), operator, { kind: 'slack', name: 'nope', url: `http://127.0.0.1:${slackPort}/x` })).rejects.toMatchObject({ code: 'forbidden' });
    await expect(createChannel(deps(), admin, { kind: 'webhook', name: 'unsigned', url: hook.url, secret: 'short' })).rejects.toThrow(/at least 16 characters/);
    await createChannel(deps(), admin, { kind: 'webhook', name: 'ops-hook', url: hook.url, secret: SECRET });
    await createChannel(deps(), admin, { kind: 'pagerduty', name: 'pager', url: pd.url, routingKey: ROUTING_KEY });
    await createChannel(deps(), admin, { kind: 'slack', name: 'chat', url: `http://127.0.0.1:${slackPort}/services/T/B/token` });
    const shown = JSON.stringify(await listChannels(deps(), admin));
    for (const secret of [SECRET, ROUTING_KEY, 'path-secret', '/services/T/B/token']) expect(shown).not.toContain(secret);
    const audit = JSON.stringify(await prisma.auditLog.findMany({ where: { action: 'alert_channel.create' }, select: { details: true, target: true } }));
    expect(audit).toContain('alert_channel:ops-hook');
    for (const secret of [SECRET, ROUTING_KEY, 'path-secret']) expect(audit).not.toContain(secret);
    const stored = JSON.stringify(await prisma.alertChannel.findMany({ select: { config: true } }));
    for (const secret of [SECRET, ROUTING_KEY, 'path-secret']) expect(stored).not.toContain(secret);
    // the key must open what is stored: another key is a start-up error
    await expect(checkAlertKey(prisma, randomBytes(32))).rejects.toThrow(/KEEL_CP_ALERT_KEY cannot open the stored alert channel/);
    await expect(checkAlertKey(prisma, KEY)).resolves.toBe(3);

    // thresholds per rule: postgres_down at once; the readiness rule off for this test
    await setRule(deps(), admin, { rule: 'postgres_down', enabled: true, params: { forSeconds: 0 } });
    await setRule(deps(), admin, { rule: 'no_failover_candidate', enabled: false, params: {} });
    await expect(setRule(deps(), admin, { rule: 'replication_lag', enabled: true, params: { bytes: -1 } })).rejects.toThrow(/Bad parameters for replication_lag/);

    const c = await prisma.cluster.create({ data: { scope: 'main', name: 'main' }, select: { id: true } });
    await setMember(c.id, 'pg0', { role: 'primary' });
    await setMember(c.id, 'pg1', { state: 'stopped', pgRunning: false, lsn: null });
    const view = (now: Date) => ({ now, staleAfterSeconds: 30, presence: { isConnected: () => true } });

    let t = new Date();
    expect(await evaluateAlerts(prisma, view(t))).toMatchObject({ opened: 1, fired: 0 });
    const deliver = (client: TDb, at: Date) => deliverDueAlerts(client, { key: KEY, now: () => at, retry: RETRY, baseUrl: 'https://keel.example.com' });
    expect(await deliver(prisma, t)).toEqual({ attempted: 3, delivered: 1, retrying: 2, failed: 0 });
    // open: evaluating again neither opens another alert nor queues another notice
    expect(await evaluateAlerts(prisma, view(new Date(t.getTime() + 1000)))).toMatchObject({ opened: 0, fired: 0, resolved: 0 });
    expect(await prisma.alertDelivery.count()).toBe(3);

    // "restart": a new database client; nothing is due before the backoff (5 s)
    const later = createDb(db.databaseUrl);
    try {
      expect(await deliver(later, new Date(t.getTime() + 4_000))).toMatchObject({ attempted: 0 });
      t = new Date(t.getTime() + 5_000);
      expect(await deliver(later, t)).toEqual({ attempted: 2, delivered: 0, retrying: 2, failed: 0 });
      const slack = await receiver([], slackPort);
      receivers.push(slack);
      // second backoff: 10 s
      expect(await deliver(later, new Date(t.getTime() + 9_000))).toMatchObject({ attempted: 0 });
      t = new Date(t.getTime() + 10_000);
      expect(await deliver(later, t)).toEqual({ attempted: 2, delivered: 2, retrying: 0, failed: 0 });

      const log = await listDeliveries({ db: later }, {});
      const byChannel = Object.fromEntries(log.map((d) => [d.channel, d]));
      expect(byChannel['ops-hook']).toMatchObject({ status: 'delivered', attempts: 3, lastStatus: 200 });
      expect(byChannel['ops-hook']?.log.map((a) => a.status)).toEqual([500, 500, 200]);
      expect(byChannel['chat']).toMatchObject({ status: 'delivered', attempts: 3 });
      expect(byChannel['chat']?.log[0]?.error).toMatch(/ECONNREFUSED/);
      expect(byChannel['pager']).toMatchObject({ status: 'delivered', attempts: 1, lastStatus: 202 });

      // the generic webhook: three tries of one delivery, each signed over its own timestamp
      expect(hook.got).toHaveLength(3);
      for (const r of hook.got) {
        const sig = String(r.headers[SIGNATURE_HEADER]);
        expect(verifySignature(SECRET, String(r.headers[TIMESTAMP_HEADER]), r.body, sig, Number(r.headers[TIMESTAMP_HEADER]))).toBe(true);
        expect(verifySignature('wrong-secret-0123456', String(r.headers[TIMESTAMP_HEADER]), r.body, sig, Number(r.headers[TIMESTAMP_HEADER]))).toBe(false);
      }
      expect(new Set(hook.got.map((r) => r.headers['x-keel-delivery'])).size).toBe(1);
      const body = JSON.parse(hook.got[2]?.body ?? '{}');
      expect(body).toMatchObject({ version: 1, event: 'trigger', alert: { rule: 'postgres_down', cluster: 'main', subject: 'pg1', severity: 'error' }, link: 'https://keel.example.com/clusters/main' });
      const trigger = JSON.parse(pd.got[0]?.body ?? '{}');
      expect(trigger).toMatchObject({ routing_key: ROUTING_KEY, event_action: 'trigger', payload: { source: 'main/pg1', severity: 'error', class: 'postgres_down' } });
      expect(JSON.parse(slack.got[0]?.body ?? '{}').text).toMatch(/^:red_circle: \*ERROR\* postgres_down: main: PostgreSQL on pg1 is not running/);

      // recovery: PostgreSQL back; one resolve per channel, PagerDuty with the trigger's dedup_key
      await setMember(c.id, 'pg1', {});
      t = new Date(t.getTime() + 1000);
      expect(await evaluateAlerts(later, view(t))).toMatchObject({ resolved: 1 });
      expect(await deliver(later, t)).toEqual({ attempted: 3, delivered: 3, retrying: 0, failed: 0 });
      expect(JSON.parse(pd.got[1]?.body ?? '{}')).toEqual({ routing_key: ROUTING_KEY, event_action: 'resolve', dedup_key: trigger.dedup_key });
      expect(JSON.parse(hook.got[3]?.body ?? '{}')).toMatchObject({ event: 'resolve', alert: { rule: 'postgres_down' } });
      expect(JSON.parse(slack.got[1]?.body ?? '{}').text).toMatch(/^:white_check_mark: \*RESOLVED\* postgres_down/);
      const alert = await later.alert.findFirstOrThrow({ select: { status: true, openKey: true, resolvedAt: true } });
      expect(alert).toMatchObject({ status: 'resolved', openKey: null });

      // the condition again later: a new alert (a new incident), not a re-open of the old one
      await setMember(c.id, 'pg1', { state: 'stopped', pgRunning: false, lsn: null });
      expect(await evaluateAlerts(later, view(new Date(t.getTime() + 2000)))).toMatchObject({ opened: 1 });
      expect(await later.alert.count()).toBe(2);
    } finally {
      await later.$disconnect();
    }
  });
});
