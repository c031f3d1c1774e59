import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function runAgent(yaml: string): { code: number | null; stderr: string; dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keel-badcfg-'));
  const cfg = path.join(dir, 'keel.yml');
  fs.writeFileSync(cfg, yaml);
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'apps/agent/src/main.ts'), cfg], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status, stderr: r.stderr, dir };
}

function sampleWith(edit: (text: string) => string): string {
  // The real Patroni 3.0.2 member configuration from shared/reference, kept as a fixture.
  const base = fs.readFileSync(path.join(ROOT, 'apps/agent/test/fixtures/patroni-3.0.2-node1.yml'), 'utf8');
  return edit(base.replace(/\/var\/lib\/keel-sample/g, '/tmp/keel-badcfg-never-created'));
}

describe('keel-agent with a bad configuration', () => {
  it('exits non-zero naming a misspelled key, and starts nothing', () => {
    const r = runAgent(sampleWith((t) => t.replace('  listen: 127.0.0.1:28008', '  lisen: 127.0.0.1:28008')));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('restapi.lisen');
    expect(fs.existsSync('/tmp/keel-badcfg-never-created')).toBe(false);
  });

  it('exits non-zero when a timing cannot work (beyond a 2^31-1 ms timer)', () => {
    const r = runAgent(sampleWith((t) => t.replace('ttl: 30', 'ttl: 9999999')));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('bootstrap.dcs.ttl: must be <= 2147483 (seconds; no timer may exceed 2^31-1 ms), got 9999999');
  });

  it.each([
    ['a standby_cluster without a source', (t: string) => t.replace('ttl: 30', 'ttl: 30\n    standby_cluster: {port: 5432}'), 'bootstrap.dcs.standby_cluster: needs a host'],
    ['a permanent slot with a bad name', (t: string) => t.replace('ttl: 30', 'ttl: 30\n    slots: {Slot-1: {type: physical}}'), 'bootstrap.dcs.slots.Slot-1: not a valid slot name'],
  ])('exits 2 at start-up when %s is set, saying why', (_key, edit, message) => {
    const r = runAgent(sampleWith(edit));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(fs.existsSync('/tmp/keel-badcfg-never-created')).toBe(false);
  });

  it('exits non-zero on YAML it cannot parse, with the line', () => {
    const r = runAgent('scope: x\nname: [unclosed\n');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/line \d+/i);
  });

  it('exits non-zero on an invalid value, naming key and reason', () => {
    const r = runAgent(sampleWith((t) => t.replace('listen: 127.0.0.1:25432', 'listen: "25432"')));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('postgresql.listen');
  });

  it('never echoes a password in an error', () => {
    const r = runAgent(sampleWith((t) => t.replace('  lisen', '  lisen').replace('ttl: 30', 'ttl: x')));
    expect(r.stderr).not.toContain('bench-super');
    expect(r.stderr).not.toContain('bench-repl');
  });
});
