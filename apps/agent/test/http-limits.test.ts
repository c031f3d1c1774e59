import { describe, expect, it } from 'vitest';
import type { Probe } from '@keel/postgres';
import { checkApiUrl } from '@keel/protocol';
import { buildAllowlist, checkUnsafeAccess, normalizeAddress, type AccessContext } from '../src/http/access.ts';
import { RequestGate, SharedProbe } from '../src/http/limits.ts';
import type { RestApiConfig } from '../src/config.ts';

describe('RequestGate', () => {
  it('lets maxActive through, queues the rest in order, refuses beyond the queue', async () => {
    const gate = new RequestGate(2, 2);
    expect(await gate.acquire()).toBe(true);
    expect(await gate.acquire()).toBe(true);
    const order: number[] = [];
    const third = gate.acquire().then((ok) => order.push(3) && ok);
    const fourth = gate.acquire().then((ok) => order.push(4) && ok);
    expect(await gate.acquire()).toBe(false);
    expect(gate.stats).toEqual({ active: 2, queued: 2 });
    gate.release();
    gate.release();
    expect(await third).toBe(true);
    expect(await fourth).toBe(true);
    expect(order).toEqual([3, 4]);
    gate.release();
    gate.release();
    expect(gate.stats).toEqual({ active: 0, queued: 0 });
  });
});

describe('SharedProbe', () => {
  const probe = (n: number) => ({ running: n > 0, serverVersion: n }) as unknown as Probe;

  it('runs one probe for concurrent callers and reuses it for at most maxAgeMs', async () => {
    let now = 1000;
    let runs = 0;
    let finish: (p: Probe) => void = () => undefined;
    const actions = { epoch: 0, busy: 0 };
    const shared = new SharedProbe(
      () => new Promise<Probe>((r) => ((runs += 1), (finish = r))),
      () => actions,
      1000,
      () => now,
    );
    const a = shared.get();
    const b = shared.get();
    now += 5000; // still in flight: joined, not doubled
    const c = shared.get();
    finish(probe(1));
    expect(await Promise.all([a, b, c])).toEqual([probe(1), probe(1), probe(1)]);
    expect(runs).toBe(1);
    now += 999; // 5999 ms after the start: too old once settled
    const d = shared.get();
    finish(probe(2));
    expect(await d).toEqual(probe(2));
    expect(runs).toBe(2);
    now += 500;
    expect(await shared.get()).toEqual(probe(2));
    expect(runs).toBe(2);
    actions.epoch += 1; // an action of the agent's began: a young result is not reused
    actions.busy = 1;
    const e = shared.get();
    finish(probe(3));
    expect(await e).toEqual(probe(3));
    expect(runs).toBe(3);
    const f = shared.get(); // still busy: no reuse of a settled result
    finish(probe(4));
    expect(await f).toEqual(probe(4));
    expect(runs).toBe(4);
  });
});

describe('checkApiUrl (DCS values that steer connections)', () => {
  it.each([
    ['http://10.0.0.1:8008/patroni', true],
    ['https://db1.example.com:8008/patroni', true],
    ['http://[::1]:8008/patroni', true],
    ['ftp://10.0.0.1/x', false],
    ['file:///etc/passwd', false],
    ['http://user:pw@10.0.0.1:8008/patroni', false],
    ['http://10.0.0.1:8008/patroni\nHost: evil', false],
    ['not a url', false],
    ['', false],
  ])('%j -> %s', (value, ok) => {
    expect(checkApiUrl(value).ok).toBe(ok);
  });
});

describe('checkUnsafeAccess (Patroni order: allowlist, client certificate, basic auth)', () => {
  const base: RestApiConfig = {
    listen: { host: '127.0.0.1', port: 8008 },
    connect_address: { host: '127.0.0.1', port: 8008 },
    api_url: 'http://127.0.0.1:8008/patroni',
    authentication: { username: 'u', password: 'p' },
    verify_client: 'none',
    allowlist: [],
    allowlist_include_members: false,
    http_extra_headers: {},
    https_extra_headers: {},
  };
  const basic = `Basic ${Buffer.from('u:p').toString('base64')}`;
  async function ctx(over: Partial<RestApiConfig>, members: string[] = [], tls = false): Promise<AccessContext> {
    const config = { ...base, ...over };
    return { config, tls, allowlist: await buildAllowlist(config.allowlist, () => undefined), memberApiUrls: () => members };
  }

  it('refuses addresses outside the allowlist before looking at credentials', async () => {
    const c = await ctx({ allowlist: ['10.0.0.0/8', '192.168.1.7'] });
    expect(await checkUnsafeAccess(c, { socket: { remoteAddress: '10.2.3.4' }, authorization: basic })).toEqual({ ok: true });
    expect(await checkUnsafeAccess(c, { socket: { remoteAddress: '::ffff:192.168.1.7' }, authorization: basic })).toEqual({ ok: true });
    expect(await checkUnsafeAccess(c, { socket: { remoteAddress: '192.168.1.8' }, authorization: basic })).toMatchObject({ ok: false, code: 403, message: 'Access is denied' });
    expect(await checkUnsafeAccess(c, { socket: { remoteAddress: '11.0.0.1' }, authorization: undefined })).toMatchObject({ code: 403 });
  });

  it('allows the members api_url hosts with allowlist_include_members', async () => {
    const c = await ctx({ allowlist: ['10.0.0.0/8'], allowlist_include_members: true }, ['http://172.16.0.5:8008/patroni', 'ftp://172.16.0.6/']);
    expect(await checkUnsafeAccess(c, { socket: { remoteAddress: '172.16.0.5' }, authorization: basic })).toEqual({ ok: true });
    expect(await checkUnsafeAccess(c, { socket: { remoteAddress: '172.16.0.6' }, authorization: basic })).toMatchObject({ code: 403 });
  });

  it('wants a verified client certificate when verify_client is set, then basic auth', async () => {
    const c = await ctx({ verify_client: 'optional' }, [], true);
    const sock = (authorized: boolean) => ({ remoteAddress: '127.0.0.1', authorized });
    expect(await checkUnsafeAccess(c, { socket: sock(false), authorization: basic })).toMatchObject({ code: 403, message: 'client certificate required' });
    expect(await checkUnsafeAccess(c, { socket: sock(true), authorization: 'Basic eDp5' })).toMatchObject({ code: 401 });
    expect(await checkUnsafeAccess(c, { socket: sock(true), authorization: basic })).toEqual({ ok: true });
  });

  it('normalizes IPv4-mapped addresses', () => {
    expect(normalizeAddress('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(normalizeAddress('::1')).toBe('::1');
  });
});
