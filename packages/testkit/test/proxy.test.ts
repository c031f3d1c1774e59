import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TcpProxy, waitFor } from '../src/index.ts';

/** An echo server that records how many bytes it received. */
async function echoServer(): Promise<{ port: number; received: () => number; close: () => Promise<void> }> {
  let received = 0;
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.on('data', (d) => {
      received += d.length;
      s.write(d);
    });
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as net.AddressInfo).port;
  return {
    port,
    received: () => received,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => srv.close(r));
    },
  };
}

/** A client that collects what it reads and remembers errors and close. */
function client(port: number) {
  const sock = net.connect(port, '127.0.0.1');
  const state = { data: '', error: null as Error | null, closed: false, connected: false };
  sock.on('connect', () => (state.connected = true));
  sock.on('data', (d) => (state.data += d.toString()));
  sock.on('error', (e) => (state.error = e));
  sock.on('close', () => (state.closed = true));
  return { sock, state };
}

describe('TcpProxy', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function setup() {
    const echo = await echoServer();
    cleanups.push(() => echo.close());
    const proxy = new TcpProxy(`127.0.0.1:${echo.port}`);
    const port = await proxy.start();
    cleanups.push(() => proxy.stop());
    expect(proxy.port).toBe(port);
    expect(proxy.hostPort).toBe(`127.0.0.1:${port}`);
    return { echo, proxy };
  }

  it('relays bytes both ways', async () => {
    const { proxy } = await setup();
    const c = client(proxy.port);
    cleanups.push(() => c.sock.destroy());
    c.sock.write('hello');
    await waitFor(() => c.state.data === 'hello', { timeoutMs: 2000, message: 'echo through the proxy' });
    expect(proxy.connectionCount).toBe(1);
  });

  it('blackhole holds bytes on existing and new connections without closing them; heal() delivers them', async () => {
    const { echo, proxy } = await setup();
    const old = client(proxy.port);
    cleanups.push(() => old.sock.destroy());
    old.sock.write('a');
    await waitFor(() => old.state.data === 'a', { timeoutMs: 2000, message: 'first echo' });

    proxy.blackhole();
    expect(proxy.mode).toBe('blackhole');
    old.sock.write('b');
    const fresh = client(proxy.port);
    cleanups.push(() => fresh.sock.destroy());
    fresh.sock.write('c');
    await waitFor(() => fresh.state.connected, { timeoutMs: 2000, message: 'new connections are accepted' });
    // Nothing arrives, nothing closes. Prove it with traffic that does flow: a direct client.
    const direct = client(echo.port);
    cleanups.push(() => direct.sock.destroy());
    direct.sock.write('zz');
    await waitFor(() => direct.state.data === 'zz', { timeoutMs: 2000, message: 'direct echo' });
    expect(echo.received()).toBe(1 + 2);
    expect(old.state.data).toBe('a');
    expect(fresh.state.data).toBe('');
    expect(old.state.closed || fresh.state.closed).toBe(false);

    proxy.heal();
    await waitFor(() => old.state.data === 'ab' && fresh.state.data === 'c', {
      timeoutMs: 2000,
      message: 'held bytes are delivered after heal',
    });
  });

  it('heal({ reset: true }) destroys the held connections', async () => {
    const { proxy } = await setup();
    const c = client(proxy.port);
    cleanups.push(() => c.sock.destroy());
    await waitFor(() => c.state.connected, { timeoutMs: 2000, message: 'connected' });
    proxy.blackhole();
    proxy.heal({ reset: true });
    await waitFor(() => c.state.closed, { timeoutMs: 2000, message: 'held connection closed' });
    const again = client(proxy.port);
    cleanups.push(() => again.sock.destroy());
    again.sock.write('x');
    await waitFor(() => again.state.data === 'x', { timeoutMs: 2000, message: 'new connections work' });
  });

  it('cutAndReset resets existing connections and refuses new ones until heal()', async () => {
    const { proxy } = await setup();
    const c = client(proxy.port);
    cleanups.push(() => c.sock.destroy());
    await waitFor(() => c.state.connected, { timeoutMs: 2000, message: 'connected' });
    proxy.cutAndReset();
    await waitFor(() => c.state.closed, { timeoutMs: 2000, message: 'existing connection reset' });
    expect((c.state.error as NodeJS.ErrnoException | null)?.code).toBe('ECONNRESET');
    const refused = client(proxy.port);
    cleanups.push(() => refused.sock.destroy());
    await waitFor(() => refused.state.closed, { timeoutMs: 2000, message: 'new connection reset' });
    expect(refused.state.data).toBe('');
    proxy.heal();
    const ok = client(proxy.port);
    cleanups.push(() => ok.sock.destroy());
    ok.sock.write('y');
    await waitFor(() => ok.state.data === 'y', { timeoutMs: 2000, message: 'works after heal' });
  });

  it('stop() closes the listener and all connections', async () => {
    const { proxy } = await setup();
    const c = client(proxy.port);
    cleanups.push(() => c.sock.destroy());
    await waitFor(() => c.state.connected, { timeoutMs: 2000, message: 'connected' });
    const port = proxy.port;
    await proxy.stop();
    await waitFor(() => c.state.closed, { timeoutMs: 2000, message: 'closed by stop' });
    const after = client(port);
    cleanups.push(() => after.sock.destroy());
    await waitFor(() => after.state.error !== null, { timeoutMs: 2000, message: 'refused after stop' });
    expect((after.state.error as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
    await proxy.stop(); // idempotent
  });
});
