/**
 * The agent image's entrypoint pieces (deploy/docker): keel-render-config adds the control-plane
 * section from the environment (the agent has no variable for it), and refuses bad input; the
 * control-plane image's keel-cp-migrate refuses bad input before it connects (its real run against
 * PostgreSQL: cp-migrate.int.test.ts).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../apps/agent/src/config.ts';
import { agentConfigPath, DOCKERFILE, readRepo, repoPath } from './files.ts';

const RENDER = repoPath('deploy/docker/keel-render-config.sh');
const ENTRYPOINT = 'deploy/docker/keel-agent-entrypoint.sh';
const TOKEN = `keel_at_0123456789ab_${'A'.repeat(21)}-_${'z'.repeat(20)}`;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keel-render-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const passwords = { PATRONI_SUPERUSER_PASSWORD: 's', PATRONI_REPLICATION_PASSWORD: 'r', PATRONI_REWIND_PASSWORD: 'w', PATRONI_RESTAPI_PASSWORD: 'a' };

function render(input: string, env: Record<string, string>): { status: number | null; err: string; out: string } {
  const out = path.join(dir, `out-${Math.random().toString(36).slice(2)}.yml`);
  const r = spawnSync('sh', [RENDER, input, out], { encoding: 'utf8', env: { PATH: process.env.PATH, ...env } });
  return { status: r.status, err: r.stderr, out };
}

describe('keel-render-config', () => {
  it('adds controlplane {url, token} to the agent config, readable by the agent, in a 0600 file', () => {
    const r = render(repoPath(agentConfigPath('node1')), { KEEL_CONTROLPLANE_URL: 'http://control-plane:3000', KEEL_CONTROLPLANE_TOKEN: TOKEN });
    expect(r.status, r.err).toBe(0);
    expect(fs.statSync(r.out).mode & 0o777).toBe(0o600);
    const loaded = parseConfig(fs.readFileSync(r.out, 'utf8'), r.out, passwords);
    expect(loaded.config.controlplane).toMatchObject({ url: 'http://control-plane:3000', token: TOKEN });
    expect(loaded.config.name).toBe('node1');
    expect(loaded.warnings).toEqual([]);
  });

  it('refuses missing variables, characters that would break the YAML, and a second controlplane section; writes nothing', () => {
    const withCp = path.join(dir, 'with-cp.yml');
    fs.writeFileSync(withCp, `${readRepo(agentConfigPath('node1'))}\ncontrolplane:\n  url: http://x:3000\n`);
    const cases: Array<[string, Record<string, string>, RegExp]> = [
      [repoPath(agentConfigPath('node1')), { KEEL_CONTROLPLANE_URL: 'http://cp:3000' }, /KEEL_CONTROLPLANE_TOKEN is not set/],
      [repoPath(agentConfigPath('node1')), { KEEL_CONTROLPLANE_TOKEN: TOKEN }, /KEEL_CONTROLPLANE_URL is not set/],
      [repoPath(agentConfigPath('node1')), { KEEL_CONTROLPLANE_URL: 'http://cp:3000', KEEL_CONTROLPLANE_TOKEN: 'abc"\nname: evil' }, /characters a Keel token never has/],
      [repoPath(agentConfigPath('node1')), { KEEL_CONTROLPLANE_URL: 'ftp://cp', KEEL_CONTROLPLANE_TOKEN: TOKEN }, /must start with http/],
      [repoPath(agentConfigPath('node1')), { KEEL_CONTROLPLANE_URL: 'http://cp:3000/"x', KEEL_CONTROLPLANE_TOKEN: TOKEN }, /may only hold/],
      [withCp, { KEEL_CONTROLPLANE_URL: 'http://cp:3000', KEEL_CONTROLPLANE_TOKEN: TOKEN }, /already has a controlplane section/],
      [path.join(dir, 'missing.yml'), { KEEL_CONTROLPLANE_URL: 'http://cp:3000', KEEL_CONTROLPLANE_TOKEN: TOKEN }, /cannot read/],
    ];
    for (const [input, env, why] of cases) {
      const r = render(input, env);
      expect(r.status, JSON.stringify(env)).toBe(2);
      expect(r.err).toMatch(why);
      expect(fs.existsSync(r.out)).toBe(false);
    }
    expect(fs.readdirSync(dir).filter((f) => f.includes('.tmp.'))).toEqual([]);
  });

  it('is what the image’s entrypoint calls, under the name the Dockerfile installs it as', () => {
    const entry = readRepo(ENTRYPOINT);
    const dockerfile = readRepo(DOCKERFILE);
    expect(dockerfile).toContain('COPY deploy/docker/keel-render-config.sh /usr/local/bin/keel-render-config');
    expect(dockerfile).toContain(`COPY ${ENTRYPOINT} /usr/local/bin/keel-agent-entrypoint`);
    expect(entry).toContain('keel-render-config "$config" "$rendered"');
    const agent = /exec node ((?:--\S+ )*)(\/opt\/keel\/(\S+)) "\$config"/.exec(entry);
    expect(agent).not.toBeNull();
    // The agent's V8 flags: the same as its bin's #! line.
    expect(agent![1]!.trim()).toBe(/^#!\/usr\/bin\/env -S node (.*)$/m.exec(readRepo('apps/agent/bin/keel-agent.js'))![1]);
    agent!.splice(1, 1);
    expect(fs.existsSync(repoPath(agent![2]!))).toBe(true);
    expect(spawnSync('sh', ['-n', repoPath(ENTRYPOINT)]).status).toBe(0);
    expect(fs.statSync(repoPath(ENTRYPOINT)).mode & 0o111).not.toBe(0);
  });
});

describe('keel-cp-migrate (the control-plane image’s one-shot cp-migrate)', () => {
  const SCRIPT = 'deploy/docker/keel-cp-migrate.sh';
  const owner = { PGHOST: '127.0.0.1', PGPORT: '1', PGDATABASE: 'keel', PGUSER: 'keel_owner', PGPASSWORD: 'owner-pw', KEEL_CP_DIR: repoPath('apps/control-plane') };
  const run = (env: Record<string, string>) => spawnSync('bash', [repoPath(SCRIPT)], { encoding: 'utf8', env: { PATH: process.env.PATH, ...env } });

  it('refuses bad input before it connects (exit 2), without printing a password', () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ ...owner }, /CP_APP_DB_PASSWORD is not set/],
      [{ ...owner, CP_APP_DB_PASSWORD: 'app-secret-1', CP_APP_DB_ROLE: 'keel_owner' }, /must not be the owner/],
      [{ ...owner, CP_APP_DB_PASSWORD: 'app-secret-1', CP_APP_DB_ROLE: 'keel"; DROP ROLE x; --' }, /lower-case identifier/],
      [{ ...owner, CP_APP_DB_PASSWORD: 'app-secret-1', CP_APP_DB_ROLE: 'Keel' }, /lower-case identifier/],
      [{ ...owner, CP_APP_DB_PASSWORD: 'app-secret-1', PGUSER: '' }, /PGUSER is not set/],
      [{ ...owner, CP_APP_DB_PASSWORD: 'app-secret-1', PGHOST: '' }, /PGHOST is not set/],
      [{ ...owner, CP_APP_DB_PASSWORD: 'app-secret-1', KEEL_CP_DIR: dir }, /no control plane in/],
    ];
    for (const [env, why] of cases) {
      const r = run(env);
      expect(r.status, JSON.stringify(env)).toBe(2);
      expect(r.stderr).toMatch(why);
      expect(r.stdout + r.stderr).not.toMatch(/app-secret-1|owner-pw/);
    }
  });

  it('reports an unreachable database as such (exit 1), before any migration', () => {
    const r = run({ ...owner, CP_APP_DB_PASSWORD: 'app-secret-1' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/cannot connect to the database as keel_owner/);
    expect(r.stdout).not.toMatch(/applying the migrations/);
  });

  it('is a bash script with strict mode, executable, installed by the control-plane image', () => {
    expect(spawnSync('bash', ['-n', repoPath(SCRIPT)]).status).toBe(0);
    expect(fs.statSync(repoPath(SCRIPT)).mode & 0o111).not.toBe(0);
    expect(readRepo(SCRIPT)).toMatch(/^#!\/usr\/bin\/env bash\n(?:#.*\n)*set -euo pipefail$/m);
    expect(readRepo(DOCKERFILE)).toContain(`COPY ${SCRIPT} /usr/local/bin/keel-cp-migrate`);
  });
});
