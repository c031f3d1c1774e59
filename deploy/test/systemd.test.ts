/**
 * deploy/systemd: the units as deploy/systemd/install.sh installs them, checked with
 * `systemd-analyze verify` and `systemd-analyze security --offline` (systemd 252 on Debian 12),
 * and the paths they run checked against the repository.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoPath } from './files.ts';

const UNITS = ['keel-agent.service', 'keel-control-plane.service'] as const;
const HAVE_ANALYZE = spawnSync('systemd-analyze', ['--version']).status === 0;
/** Shown in the test name when the check cannot run here. */
const NO_ANALYZE = HAVE_ANALYZE ? '' : ' [skipped: systemd-analyze is not installed (Debian package systemd)]';
const PREFIX = '/srv/keel-test';
const roots: string[] = [];
afterAll(() => roots.forEach((r) => fs.rmSync(r, { recursive: true, force: true })));

function install(...args: string[]): { status: number | null; out: string; root: string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'keel-systemd-'));
  roots.push(root);
  const r = spawnSync('bash', [repoPath('deploy/systemd/install.sh'), '--root', root, ...args], { encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}`, root };
}

/** `key=value` lines of the [Service] section (repeated keys kept in order). */
function serviceSection(text: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  let inService = false;
  for (const line of text.split('\n')) {
    if (/^\[.*\]$/.test(line)) inService = line === '[Service]';
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (inService && m) out.push([m[1]!, m[2]!]);
  }
  return out;
}

/** What systemd-analyze verify says about the files (empty: nothing to complain about). */
function verify(files: string[]): string {
  const r = spawnSync('systemd-analyze', ['verify', ...files], { encoding: 'utf8' });
  return `${r.stdout}${r.stderr}`.trim() + (r.status === 0 ? '' : `\n(exit ${r.status})`);
}

describe('deploy/systemd/install.sh', () => {
  it('installs both units with the prefix and creates the secret files 0600 without overwriting them', () => {
    const r = install('--prefix', PREFIX);
    expect(r.status, r.out).toBe(0);
    for (const u of UNITS) {
      const text = fs.readFileSync(path.join(r.root, 'etc/systemd/system', u), 'utf8');
      expect(text).not.toContain('/opt/keel');
      expect(text).toContain(PREFIX);
    }
    for (const f of ['keel-agent.env', 'control-plane.env', 'control-plane-owner.env']) {
      const p = path.join(r.root, 'etc/keel', f);
      expect(fs.statSync(p).mode & 0o777, f).toBe(0o600);
    }
    // The server's file holds the application role's URL only; the owner's connection is in its own
    // file, with the variables keel-cp-migrate reads, for the prefix's control plane.
    const keys = (f: string) => fs.readFileSync(path.join(r.root, 'etc/keel', f), 'utf8').split('\n').filter((l) => /^[A-Z]/.test(l)).map((l) => l.split('=')[0]);
    expect(keys('control-plane.env')).toEqual(['DATABASE_URL', 'KEEL_CP_SECRET', 'KEEL_CP_PORT']);
    const ownerEnv = fs.readFileSync(path.join(r.root, 'etc/keel/control-plane-owner.env'), 'utf8');
    const script = fs.readFileSync(repoPath('deploy/docker/keel-cp-migrate.sh'), 'utf8');
    for (const k of keys('control-plane-owner.env')) expect(script, k).toContain(k);
    expect(ownerEnv).toContain(`KEEL_CP_DIR=${PREFIX}/apps/control-plane`);
    expect(ownerEnv).toContain(`${PREFIX}/deploy/docker/keel-cp-migrate.sh`);
    expect(ownerEnv).toMatch(/^PGUSER=keel_owner$/m);
    const env = path.join(r.root, 'etc/keel/keel-agent.env');
    fs.writeFileSync(env, 'PATRONI_SUPERUSER_PASSWORD=kept\n');
    const again = spawnSync('bash', [repoPath('deploy/systemd/install.sh'), '--root', r.root, '--prefix', PREFIX], { encoding: 'utf8' });
    expect(again.status).toBe(0);
    expect(fs.readFileSync(env, 'utf8')).toBe('PATRONI_SUPERUSER_PASSWORD=kept\n');
  });

  it('refuses a relative or odd prefix and unknown arguments, writing nothing', () => {
    for (const args of [['--prefix', 'opt/keel'], ['--prefix', '/opt/keel dir'], ['--frobnicate']]) {
      const r = install(...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.out).toMatch(/^install\.sh: /);
      expect(fs.readdirSync(r.root)).toEqual([]);
    }
  });
});

describe('the units', () => {
  const { root } = install('--prefix', PREFIX);
  const unitPath = (u: string) => path.join(root, 'etc/systemd/system', u);
  const service = (u: string) => serviceSection(fs.readFileSync(unitPath(u), 'utf8'));
  const value = (u: string, k: string) => service(u).filter(([key]) => key === k).map(([, v]) => v);

  it('are hardened', () => {
    for (const u of UNITS) {
      for (const [k, v] of [
        ['NoNewPrivileges', 'yes'],
        ['ProtectSystem', 'strict'],
        ['ProtectHome', 'yes'],
        ['PrivateTmp', 'yes'],
        ['PrivateDevices', 'yes'],
        ['CapabilityBoundingSet', ''],
        ['AmbientCapabilities', ''],
        ['RestrictSUIDSGID', 'yes'],
        ['ProtectKernelTunables', 'yes'],
        ['ProtectKernelModules', 'yes'],
        ['ProtectControlGroups', 'yes'],
        ['SystemCallArchitectures', 'native'],
        ['UMask', '0077'],
      ] as const) {
        expect(value(u, k), `${u}: ${k}`).toEqual([v]);
      }
      expect(value(u, 'SystemCallFilter'), u).toContain('@system-service');
      expect(value(u, 'Restart'), u).toEqual(['on-failure']);
    }
    // The agent writes only where PostgreSQL keeps its data and sockets, as postgres.
    expect(value('keel-agent.service', 'User')).toEqual(['postgres']);
    expect(value('keel-agent.service', 'ReadWritePaths')).toEqual(['/var/lib/postgresql -/var/run/postgresql']);
    expect(value('keel-control-plane.service', 'DynamicUser')).toEqual(['yes']);
  });

  it('run files that exist in the repository (prefix = the checkout)', () => {
    const scripts = UNITS.flatMap((u) => value(u, 'ExecStart').flatMap((cmd) => cmd.split(/\s+/).filter((w) => w.startsWith(`${PREFIX}/`))));
    expect(scripts).toEqual([`${PREFIX}/apps/agent/bin/keel-agent.js`, `${PREFIX}/apps/control-plane/dist/server.mjs`]);
    // dist/server.mjs is what `npm run build` (scripts/build.mjs) makes of server.ts.
    for (const s of scripts) expect(fs.existsSync(repoPath(s.slice(PREFIX.length + 1).replace('dist/server.mjs', 'server.ts'))), s).toBe(true);
    expect(fs.readFileSync(repoPath('scripts/build.mjs'), 'utf8')).toContain("out: 'apps/control-plane/dist/server.mjs'");
    for (const u of UNITS) expect(value(u, 'ExecStart')[0], u).toMatch(/^\/usr\/bin\/node /);
    // The agent's V8 flags: the same as its bin's #! line.
    const shebang = /^#!\/usr\/bin\/env -S node (.*)$/m.exec(fs.readFileSync(repoPath('apps/agent/bin/keel-agent.js'), 'utf8'))![1]!;
    expect(value('keel-agent.service', 'ExecStart')[0]).toContain(`/usr/bin/node ${shebang} ${PREFIX}/apps/agent/bin/keel-agent.js `);
    expect(value('keel-control-plane.service', 'WorkingDirectory')).toEqual([`${PREFIX}/apps/control-plane`]);
  });

  it.skipIf(!HAVE_ANALYZE)(`pass \`systemd-analyze verify\` (which does catch a bad setting)${NO_ANALYZE}`, () => {
    expect(verify(UNITS.map(unitPath))).toBe('');
    const broken = path.join(root, 'keel-broken.service');
    fs.writeFileSync(broken, fs.readFileSync(unitPath('keel-agent.service'), 'utf8').replace('ProtectSystem=strict', 'ProtectSystem=bogus'));
    expect(verify([broken])).toMatch(/protect system value.*bogus/i);
  });

  it.skipIf(!HAVE_ANALYZE)(`score OK in \`systemd-analyze security --offline\` (exposure at most 2.0 of 10)${NO_ANALYZE}`, () => {
    for (const u of UNITS) {
      const r = spawnSync('systemd-analyze', ['security', '--offline=true', '--threshold=20', unitPath(u)], { encoding: 'utf8' });
      const score = /Overall exposure level for \S+: ([\d.]+)/.exec(r.stdout)?.[1];
      expect(r.status, `${u}: exposure ${score}\n${r.stderr}`).toBe(0);
      expect(Number(score), u).toBeLessThanOrEqual(2);
    }
  });
});
