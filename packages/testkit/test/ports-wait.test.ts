import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort, freePorts, waitFor } from '../src/index.ts';

describe('freePort / freePorts', () => {
  it('gives a port that can be bound on 127.0.0.1', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    const srv = net.createServer();
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(port, '127.0.0.1', resolve);
    });
    await new Promise((r) => srv.close(r));
  });

  it('gives n distinct ports', async () => {
    const ports = await freePorts(5);
    expect(ports).toHaveLength(5);
    expect(new Set(ports).size).toBe(5);
  });
});

describe('waitFor', () => {
  it('resolves with the first truthy value', async () => {
    let n = 0;
    const v = await waitFor(async () => (++n >= 3 ? { n } : null), { timeoutMs: 2000, intervalMs: 10, message: 'n reaches 3' });
    expect(v).toEqual({ n: 3 });
  });

  it('treats a throw as "not yet"', async () => {
    let n = 0;
    const v = await waitFor(
      () => {
        if (++n < 3) throw new Error('not ready');
        return 'ready';
      },
      { timeoutMs: 2000, intervalMs: 10, message: 'ready' },
    );
    expect(v).toBe('ready');
  });

  it('times out with the message and the last error', async () => {
    const t0 = Date.now();
    const err = await waitFor(
      () => {
        throw new Error('still broken');
      },
      { timeoutMs: 300, intervalMs: 20, message: 'the thing to work' },
    ).catch((e: unknown) => e as Error);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/^timed out after 0\.3s: the thing to work \(last error: Error: still broken\)$/);
  });

  it('times out with the last value, and does not wait for a hung attempt', async () => {
    let calls = 0;
    const err = await waitFor(
      () => {
        calls++;
        return calls === 1 ? false : new Promise<never>(() => undefined);
      },
      { timeoutMs: 300, intervalMs: 10, message: 'never' },
    ).catch((e: unknown) => e as Error);
    expect((err as Error).message).toBe('timed out after 0.3s: never (last value: false)');
  });
});
