/**
 * The configuration examples in docs/production.md and README.md are copies of the files the other
 * deploy tests run: a fenced block tagged `file=<path>` must be a run of whole, consecutive lines
 * of that file, and every configuration-looking block must carry such a tag. The control plane's
 * database roles: the upgrade, install and backup steps name the role each one uses.
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compose, readRepo, repoPath } from './files.ts';

const DOCS = ['docs/production.md', 'README.md'];
/** Languages of fenced blocks that show configuration (and so must come from a file). */
const CONFIG_LANGS = new Set(['yaml', 'yml', 'ini', 'haproxy', 'cfg', 'dotenv', 'systemd', 'json']);

interface Block {
  doc: string;
  line: number;
  lang: string;
  file: string | null;
  text: string;
}

function fencedBlocks(doc: string, markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const end = lines.findIndex((l, j) => j > i && l === '```');
    if (end < 0) throw new Error(`${doc}:${i + 1}: unclosed code block`);
    blocks.push({ doc, line: i + 1, lang: open[1]!, file: /\bfile=(\S+)/.exec(open[2]!)?.[1] ?? null, text: lines.slice(i + 1, end).join('\n') });
    i = end;
  }
  return blocks;
}

/** Whether `excerpt` is a run of whole consecutive lines of `whole`. */
function isExcerpt(excerpt: string, whole: string): boolean {
  const w = whole.split('\n');
  const e = excerpt.split('\n');
  if (e.length === 0 || e.every((l) => l.trim() === '')) return false;
  for (let i = 0; i + e.length <= w.length; i++) if (e.every((l, j) => w[i + j] === l)) return true;
  return false;
}

describe('configuration examples in the docs', () => {
  const blocks = DOCS.flatMap((d) => fencedBlocks(d, readRepo(d)));
  const tagged = blocks.filter((b) => b.file !== null);

  it('the production checklist shows the tested files', () => {
    const files = tagged.filter((b) => b.doc === 'docs/production.md').map((b) => b.file);
    expect(files).toEqual(
      expect.arrayContaining(['.env.example', 'deploy/keel/node1.yml', 'deploy/haproxy/haproxy.cfg', 'deploy/systemd/keel-agent.service', 'deploy/prometheus/prometheus.yml']),
    );
  });

  it('every tagged example is a verbatim excerpt of its file', () => {
    expect(tagged.length).toBeGreaterThan(0);
    for (const b of tagged) {
      expect(fs.existsSync(repoPath(b.file!)), `${b.doc}:${b.line}: ${b.file}`).toBe(true);
      expect(isExcerpt(b.text, readRepo(b.file!)), `${b.doc}:${b.line}: the example differs from ${b.file}`).toBe(true);
    }
  });

  it('every configuration example is tagged with the file it comes from', () => {
    for (const b of blocks) if (CONFIG_LANGS.has(b.lang)) expect(b.file, `${b.doc}:${b.line}: \`\`\`${b.lang} block without file=`).not.toBeNull();
  });

  it('the excerpt check catches a changed line, a skipped line and an empty example', () => {
    const file = 'a: 1\nb: 2\nc: 3\n';
    expect(isExcerpt('a: 1\nb: 2', file)).toBe(true);
    expect(isExcerpt('a: 1\nb: 3', file)).toBe(false);
    expect(isExcerpt('a: 1\nc: 3', file)).toBe(false);
    expect(isExcerpt('b:', file)).toBe(false);
    expect(isExcerpt('', file)).toBe(false);
  });
});

describe('the control plane’s two database roles in the docs', () => {
  const production = readRepo('docs/production.md');
  const section = (doc: string, heading: string) => {
    const start = doc.indexOf(heading);
    expect(start, heading).toBeGreaterThanOrEqual(0);
    const next = doc.slice(start + heading.length).search(/^#{2,3} /m);
    // Whitespace collapsed: a phrase may be wrapped across lines.
    return (next < 0 ? doc.slice(start) : doc.slice(start, start + heading.length + next)).replace(/\s+/g, ' ');
  };
  const c = compose();
  const owner = c.services['cp-db']!.environment!.POSTGRES_USER!;
  const app = c.services['cp-migrate']!.environment!.CP_APP_DB_ROLE!;

  it('the upgrade procedure migrates and grants as the owner, with the commands that exist', () => {
    const upgrade = section(production, '### Upgrades');
    expect(upgrade).toContain(`as the owner** \`${owner}\``);
    expect(upgrade).toContain('docker compose run --rm cp-migrate');
    expect(upgrade).toContain('npm run db:migrate -w @keel/control-plane');
    expect(upgrade).toContain(`npm run db:grant -w @keel/control-plane -- --role ${app}`);
    expect(upgrade).toContain('/opt/keel/deploy/docker/keel-cp-migrate.sh');
    const scripts = (JSON.parse(readRepo('apps/control-plane/package.json')) as { scripts: Record<string, string> }).scripts;
    expect(scripts['db:migrate']).toContain('scripts/prisma.ts migrate deploy');
    expect(scripts['db:grant']).toContain('scripts/grant-app-role.ts');
  });

  it('the systemd install says which role each step uses, with the files install.sh creates', () => {
    const install = section(production, '## Install on hosts with systemd');
    for (const line of ['createuser --login --createrole --pwprompt keel_owner', '/etc/keel/control-plane-owner.env', `as ${owner}: creates role ${app}, migrates, grants`, `DATABASE_URL=postgresql://${app}:`, `connects as ${app}`]) {
      expect(install, line).toContain(line);
    }
    expect(readRepo('deploy/systemd/install.sh')).toContain('"$conf/control-plane-owner.env"');
  });

  it('backups are taken and restored as the owner, and the README’s Deploy section names both roles', () => {
    const backups = section(production, '### Backups');
    expect(backups).toContain(`pg_dump -U ${owner} -Fc keel`);
    expect(backups).toContain(`pg_restore --clean --if-exists -U ${owner} -d keel`);
    expect(backups).toContain('docker compose run --rm cp-migrate');
    const deploy = section(readRepo('README.md'), '## Deploy');
    for (const s of [`\`${owner}\``, `\`${app}\``, 'CP_APP_DB_PASSWORD', 'deploy/docker/keel-cp-migrate.sh', 'control-plane-owner.env']) expect(deploy, s).toContain(s);
  });
});
