import fs from 'node:fs';
import path from 'node:path';
import { TestCluster, waitFor, type Member } from '@keel/testkit';
import type { TNodeStatus } from '@keel/protocol';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Cluster operations through the REST API on a real cluster: restart (with conditions, ordering
// and scheduling), PATCH/PUT /config (validation, pending restart), reload, reinitialize, callbacks.
describe('cluster operations over the REST API', () => {
  let c: TestCluster;
  let leader: Member;
  let replicas: Member[];
  let auth: Record<string, string>;
  const callbackLog = (m: Member) => path.join(m.dir, 'callbacks.log');

  async function call(m: Member, method: string, p: string, body?: unknown, withAuth = true) {
    const headers: Record<string, string> = withAuth ? { ...auth } : {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${m.apiUrl}${p}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(90_000) });
    const text = await res.text();
    let json: unknown = text;
    try {
      json = JSON.parse(text);
    } catch {
      /* text */
    }
    return { status: res.status, text, json };
  }
  const status = async (m: Member) => (await m.api<TNodeStatus>('/patroni')).body;

  beforeAll(async () => {
    c = await TestCluster.start({
      members: 3,
      ttl: 10,
      loopWait: 2,
      retryTimeout: 3,
      tweak: (cfg, i) => {
        const dir = path.dirname(String((cfg.postgresql as Record<string, unknown>).data_dir));
        const script = path.join(dir, 'callback.sh');
        fs.writeFileSync(script, `#!/bin/sh\necho "$1 $2 $3" >> ${path.join(dir, 'callbacks.log')}\n`, { mode: 0o755 });
        (cfg.postgresql as Record<string, unknown>).callbacks = { on_restart: script, on_role_change: script, on_reload: script };
        void i;
      },
    });
    for (const m of c.members) if (c.osUser) fs.chownSync(path.join(m.dir, 'callback.sh'), c.osUser.uid, c.osUser.gid);
    auth = { authorization: `Basic ${Buffer.from(`${c.credentials.restapi.username}:${c.credentials.restapi.password}`).toString('base64')}` };
    leader = await c.waitForPrimary(90_000);
    replicas = c.members.filter((m) => m !== leader);
    await c.waitForReplicas(replicas.map((m) => m.name), 120_000);
  });
  afterAll(async () => {
    await c?.stop();
  });

  it('refuses every mutating call without valid credentials (401) and changes nothing', async () => {
    expect((await call(leader, 'POST', '/restart', {}, false)).status).toBe(401);
    expect((await call(leader, 'PATCH', '/config', { ttl: 20 }, false)).status).toBe(401);
    const wrong = await fetch(`${leader.apiUrl}/config`, {
      method: 'PATCH',
      headers: { authorization: `Basic ${Buffer.from('keel:wrong').toString('base64')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ttl: 20 }),
    });
    expect(wrong.status).toBe(401);
    expect(((await leader.api<Record<string, unknown>>('/config')).body).ttl).toBe(10);
  });

  it('restarts a replica, fires on_restart, and explains refused conditions', async () => {
    const r = replicas[0]!;
    const before = (await status(r)).postmaster_start_time;
    const res = await call(r, 'POST', '/restart', {});
    expect([res.status, res.text]).toEqual([200, 'restarted successfully']);
    await waitFor(async () => (await status(r)).postmaster_start_time !== before && (await r.api('/replica')).status === 200, {
      timeoutMs: 30_000,
      message: `${r.name} runs again after the restart`,
    });
    await waitFor(() => fs.existsSync(callbackLog(r)) && fs.readFileSync(callbackLog(r), 'utf8').includes(`on_restart replica ${c.scope}`), {
      timeoutMs: 10_000,
      message: 'the on_restart callback ran with action, role and scope',
    });
    const pending = await call(r, 'POST', '/restart', { restart_pending: true });
    expect(pending.status).toBe(503);
    expect(pending.text).toBe('restart conditions are not satisfied: no restart is pending');
    const role = await call(r, 'POST', '/restart', { role: 'primary' });
    expect([role.status, role.text]).toEqual([503, 'restart conditions are not satisfied: role is replica, not primary']);
    const bad = await call(r, 'POST', '/restart', { role: 'boss' });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('role');
  });

  it('refuses a config patch with an unknown parameter, a bad value or a timing that cannot work, and writes nothing', async () => {
    const before = (await leader.api('/config')).body;
    const unknown = await call(replicas[0]!, 'PATCH', '/config', { postgresql: { parameters: { max_connectionz: 10 } } });
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(unknown.json)).toContain('postgresql.parameters.max_connectionz: unknown PostgreSQL parameter');
    const value = await call(leader, 'PATCH', '/config', { postgresql: { parameters: { max_connections: 'lots', wal_level: 'maximal' } } });
    expect(value.status).toBe(400);
    expect(JSON.stringify(value.json)).toContain('max_connections');
    expect(JSON.stringify(value.json)).toContain('wal_level: expected one of');
    const timing = await call(leader, 'PATCH', '/config', { ttl: -6 });
    expect(timing.status).toBe(400);
    expect(JSON.stringify(timing.json)).toContain('ttl: must be >= 0, got -6');
    expect((await leader.api('/config')).body).toEqual(before);
  });

  it('PUT /config replaces the whole configuration after the same validation', async () => {
    const current = (await leader.api<Record<string, unknown>>('/config')).body;
    const bad = await call(leader, 'PUT', '/config', { ...current, loop_wait: 'often' });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.json)).toContain('loop_wait');
    const res = await call(leader, 'PUT', '/config', { ...current, maximum_lag_on_failover: 2097152 });
    expect(res.status).toBe(200);
    expect((await replicas[0]!.api<Record<string, unknown>>('/config')).body.maximum_lag_on_failover).toBe(2097152);
  });

  it('applies a reloadable parameter on every member without a restart', async () => {
    const res = await call(leader, 'PATCH', '/config', { postgresql: { parameters: { work_mem: '8MB' } } });
    expect(res.status).toBe(200);
    for (const m of c.members) {
      await waitFor(async () => (await m.sql<{ work_mem: string }>('SHOW work_mem'))[0]!.work_mem === '8MB', {
        timeoutMs: 20_000,
        message: `work_mem applied on ${m.name}`,
      });
      expect((await status(m)).pending_restart).toBeUndefined();
    }
  });

  it('marks a restart-only parameter pending everywhere, orders restarts replicas-first, and clears the flag', async () => {
    const res = await call(leader, 'PATCH', '/config', { postgresql: { parameters: { max_connections: 60 } } });
    expect(res.status).toBe(200);
    for (const m of c.members) {
      await waitFor(async () => (await status(m)).pending_restart_reason?.max_connections?.new_value === '60', {
        timeoutMs: 20_000,
        message: `${m.name} shows max_connections pending 50 -> 60`,
      });
      expect((await status(m)).pending_restart_reason?.max_connections?.old_value).toBe('50');
    }
    await waitFor(async () => {
      const cl = (await leader.api<{ members: Array<{ name: string; pending_restart?: boolean }> }>('/cluster')).body;
      return cl.members.every((m) => m.pending_restart === true);
    }, { timeoutMs: 15_000, message: '/cluster shows pending_restart for every member' });
    const metrics = await (await fetch(`${leader.apiUrl}/metrics`)).text();
    expect(metrics).toMatch(/patroni_pending_restart\{[^}]*\} 1/);

    const early = await call(leader, 'POST', '/restart', { restart_pending: true });
    expect(early.status).toBe(412);
    expect(early.text).toMatch(/restart the replicas first: max_connections is being raised from 50 to 60/);

    for (const r of replicas) expect((await call(r, 'POST', '/restart', { restart_pending: true })).status).toBe(200);
    await waitFor(async () => {
      const cl = (await leader.api<{ members: Array<{ name: string; pending_restart?: boolean }> }>('/cluster')).body;
      return cl.members.filter((m) => m.name !== leader.name).every((m) => !m.pending_restart);
    }, { timeoutMs: 20_000, message: 'replicas no longer pending in the DCS' });
    expect((await call(leader, 'POST', '/restart', { restart_pending: true })).status).toBe(200);
    for (const m of c.members) {
      await waitFor(async () => (await status(m)).pending_restart === undefined, { timeoutMs: 20_000, message: `${m.name} pending flag cleared` });
      expect((await m.sql<{ max_connections: string }>('SHOW max_connections'))[0]!.max_connections).toBe('60');
    }
    expect((await leader.api('/primary')).status).toBe(200);
  });

  it('schedules a restart, shows it in the member key, runs it on time, and DELETE /restart answers 404 after', async () => {
    const r = replicas[1]!;
    const before = (await status(r)).postmaster_start_time;
    const at = new Date(Date.now() + 4000).toISOString();
    const res = await call(r, 'POST', '/restart', { schedule: at });
    expect(res.status).toBe(202);
    expect((await call(r, 'POST', '/restart', { schedule: at })).status).toBe(409);
    await waitFor(async () => {
      const cl = (await leader.api<{ members: Array<Record<string, unknown>> }>('/cluster')).body;
      return cl.members.find((m) => m.name === r.name) ? true : false;
    }, { timeoutMs: 5000, message: 'cluster readable' });
    const opId = (res.json as { operation: string }).operation;
    await waitFor(async () => (await r.api<{ state: string }>(`/operations/${opId}`)).body.state === 'succeeded', {
      timeoutMs: 30_000,
      message: 'the scheduled restart operation succeeds',
    });
    expect((await status(r)).postmaster_start_time).not.toBe(before);
    expect((await call(r, 'DELETE', '/restart')).status).toBe(404);
    const past = await call(r, 'POST', '/restart', { schedule: '2001-01-01T00:00:00+00:00' });
    expect(past.status).toBe(400);
  });

  it('reloads the local YAML (POST /reload): new tags are published, a bad file changes nothing', async () => {
    const r = replicas[0]!;
    const cfg = YAML.parse(fs.readFileSync(r.configPath, 'utf8')) as Record<string, unknown>;
    cfg.tags = { ...(cfg.tags as object), noloadbalance: true };
    fs.writeFileSync(r.configPath, YAML.stringify(cfg));
    expect((await call(r, 'POST', '/reload')).status).toBe(202);
    await waitFor(async () => (await r.api('/replica')).status === 503, { timeoutMs: 10_000, message: '/replica 503 with noloadbalance' });
    expect((await status(r)).tags?.noloadbalance).toBe(true);

    const good = fs.readFileSync(r.configPath, 'utf8');
    fs.writeFileSync(r.configPath, good.replace('scope:', 'scoop:'));
    const bad = await call(r, 'POST', '/reload');
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('scoop');
    fs.writeFileSync(r.configPath, good);
    expect((await status(r)).tags?.noloadbalance).toBe(true);
  });

  it('reinitializes a replica from the leader and refuses on the leader', async () => {
    const onLeader = await call(leader, 'POST', '/reinitialize', {});
    expect([onLeader.status, onLeader.text]).toEqual([503, 'I am the leader, can not reinitialize']);
    const r = replicas[1]!;
    const sysid = (await status(r)).database_system_identifier;
    const res = await call(r, 'POST', '/reinitialize?async=true', { from_leader: true });
    expect([res.status, res.text]).toEqual([202, expect.stringContaining('reinitialize started')]);
    const opId = (res.json as { operation: string }).operation;
    await waitFor(async () => (await r.api<{ state: string }>(`/operations/${opId}`)).body.state === 'succeeded', {
      timeoutMs: 90_000,
      message: 'the reinitialize operation succeeds',
    });
    const op = (await r.api<{ steps: Array<{ message: string }> }>(`/operations/${opId}`)).body;
    expect(op.steps.map((s) => s.message)).toEqual(expect.arrayContaining(['removing the data directory', `taking a base backup from ${leader.name}`]));
    await c.waitForReplicas([r.name], 60_000);
    expect((await status(r)).database_system_identifier).toBe(sysid);
  });
});
