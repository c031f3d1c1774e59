/**
 * The cluster's processes belong to the Playwright runner (global-setup); tests run in workers.
 * This loopback endpoint lets a test ask the real cluster who is primary and kill -9 a node
 * (member.kill9Node(): the agent and its postmaster) without owning the processes itself.
 *   GET  /primary          -> { name: string | null }
 *   POST /kill9/<member>   -> { killedAt }   (after both processes are gone)
 *   POST /start/<member>   -> { started }    (starts its agent again unless it runs)
 *   POST /db/pause         -> {}   the control plane's own PostgreSQL stops (pg_ctl stop -m fast)
 *   POST /db/resume        -> {}   ... and starts again
 * Every request needs `authorization: Bearer <token>`.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ControlPlaneDb, TestCluster } from '@keel/testkit';

export interface THarness {
  url: string;
  token: string;
  close(): Promise<void>;
}

export async function startHarness(cluster: TestCluster, db: ControlPlaneDb): Promise<THarness> {
  const token = randomBytes(18).toString('base64url');
  const server = http.createServer((req, res) => {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${token}`) return reply(401, { error: 'no' });
    const url = new URL(req.url ?? '/', 'http://x');
    void (async () => {
      try {
        if (req.method === 'GET' && url.pathname === '/primary') {
          const p = await cluster.primary();
          return reply(200, { name: p?.name ?? null });
        }
        const kill = /^\/kill9\/([\w.-]+)$/.exec(url.pathname);
        if (req.method === 'POST' && kill) {
          await cluster.member(kill[1]!).kill9Node();
          return reply(200, { killedAt: new Date().toISOString() });
        }
        const start = /^\/start\/([\w.-]+)$/.exec(url.pathname);
        if (req.method === 'POST' && start) {
          const m = cluster.member(start[1]!);
          const running = m.agent !== null && m.agent.exitCode === null && m.agent.signalCode === null;
          if (!running) m.start();
          return reply(200, { started: !running });
        }
        if (req.method === 'POST' && url.pathname === '/db/pause') {
          await db.pause();
          return reply(200, {});
        }
        if (req.method === 'POST' && url.pathname === '/db/resume') {
          await db.resume();
          return reply(200, {});
        }
        reply(404, { error: `no ${req.method} ${url.pathname}` });
      } catch (e) {
        reply(500, { error: (e as Error).message });
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The test side. */
export function harnessClient(h: { url: string; token: string }) {
  const call = async <T>(method: string, p: string): Promise<T> => {
    const res = await fetch(`${h.url}${p}`, { method, headers: { authorization: `Bearer ${h.token}` }, signal: AbortSignal.timeout(30_000) });
    const body = (await res.json()) as T & { error?: string };
    if (!res.ok) throw new Error(`harness ${method} ${p}: ${res.status} ${body.error ?? ''}`);
    return body;
  };
  return {
    primary: () => call<{ name: string | null }>('GET', '/primary').then((r) => r.name),
    kill9Node: (member: string) => call<{ killedAt: string }>('POST', `/kill9/${encodeURIComponent(member)}`),
    startNode: (member: string) => call<{ started: boolean }>('POST', `/start/${encodeURIComponent(member)}`),
    pauseControlPlaneDb: () => call<object>('POST', '/db/pause'),
    resumeControlPlaneDb: () => call<object>('POST', '/db/resume'),
  };
}
