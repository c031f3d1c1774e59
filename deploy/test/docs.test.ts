/**
 * The configuration examples in docs/production.md and README.md are copies of the files the other
 * deploy tests run: a fenced block tagged `file=<path>` must be a run of whole, consecutive lines
 * of that file, and every configuration-looking block must carry such a tag.
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readRepo, repoPath } from './files.ts';

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
