import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/log.ts';

/** A destination collecting what the logger writes. */
function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
}

describe('createLogger', () => {
  it('log.type json (the default): one JSON object a line, secrets redacted, Patroni level names', async () => {
    const out = sink();
    const log = createLogger({ level: 'warning', name: 'node1', scope: 'demo', destination: out.stream });
    log.info('not shown at WARNING');
    log.warn({ db: { password: 's3cret' } }, 'careful');
    await until(() => out.text().includes('\n'));
    const lines = out.text().trim().split('\n');
    expect(lines).toHaveLength(1);
    const rec = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(rec).toMatchObject({ level: 40, member: 'node1', scope: 'demo', msg: 'careful', db: { password: '******' } });
    expect(rec.time).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('log.type plain: readable lines written in-process (no transport worker), secrets redacted', async () => {
    const out = sink();
    const log = createLogger({ type: 'plain', name: 'node1', scope: 'demo', destination: out.stream });
    log.info({ db: { password: 's3cret' } }, 'lock acquired');
    await until(() => out.text().includes('lock acquired'));
    const text = out.text();
    expect(text).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [^\]]*\] INFO: lock acquired\n/);
    expect(text).toContain('member: "node1"');
    expect(text).not.toContain('s3cret');
    expect(text).not.toMatch(/^\{/m);
  });
});
