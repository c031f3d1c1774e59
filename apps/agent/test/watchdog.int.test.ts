import { TestCluster, waitFor, type Member } from '@keel/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

async function writable(m: Member): Promise<boolean> {
  try {
    await m.sql('INSERT INTO f DEFAULT VALUES');
    return true;
  } catch {
    return false;
  }
}

/**
 * Watch every member until one other than `old` accepts writes; return when the old primary last
 * accepted a write and when the new one first did. Two writable primaries must never overlap.
 */
async function handover(c: TestCluster, old: Member, timeoutMs: number): Promise<{ oldLastWrite: number; newFirstWrite: number; next: Member }> {
  let oldLastWrite = Date.now();
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await writable(old)) oldLastWrite = Date.now();
    for (const m of c.members) {
      if (m === old) continue;
      const t = Date.now();
      if (await writable(m)) return { oldLastWrite, newFirstWrite: t, next: m };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no new writable primary within ${timeoutMs} ms`);
}

// The fencing process stops a primary whose agent hangs or dies, before its lease can expire and
// another member takes over: never two writable primaries.
describe('the fencing process (software watchdog)', () => {
  let c: TestCluster;

  beforeAll(async () => {
    c = await TestCluster.start({ members: 3, ttl: 10, loopWait: 2, retryTimeout: 3 });
    const p = await c.waitForPrimary(90_000);
    await c.waitForReplicas(c.members.filter((m) => m !== p).map((m) => m.name), 120_000);
    await p.sql('CREATE TABLE f (id serial primary key)');
  });
  afterAll(async () => {
    for (const m of c?.members ?? []) if (m.agentPid) process.kill(m.agentPid, 'SIGCONT');
    await c?.stop();
  });

  it('stops PostgreSQL when the primary agent is frozen (SIGSTOP), before anyone else takes over', async () => {
    const old = (await c.primary())!;
    const frozenAt = Date.now();
    process.kill(old.agentPid!, 'SIGSTOP');
    const h = await handover(c, old, (c.ttl + 10) * 1000);
    expect(h.oldLastWrite).toBeLessThan(h.newFirstWrite);
    expect(h.oldLastWrite - frozenAt).toBeLessThan(c.ttl * 1000);
    expect(await writable(old)).toBe(false);
    process.kill(old.agentPid!, 'SIGCONT');
    await c.waitForReplicas([old.name], 90_000);
  });

  it('stops PostgreSQL when the primary agent is killed (kill -9 of the agent only)', async () => {
    const old = (await c.primary())!;
    const killedAt = Date.now();
    await old.kill9Agent();
    const h = await handover(c, old, (c.ttl + 10) * 1000);
    expect(h.oldLastWrite).toBeLessThan(h.newFirstWrite);
    expect(h.oldLastWrite - killedAt).toBeLessThan(c.ttl * 1000);
    await waitFor(() => old.postmasterPid() === null, { timeoutMs: 10_000, message: 'the old postmaster is gone' });
    old.start();
    await c.waitForReplicas([old.name], 90_000);
  });
});
