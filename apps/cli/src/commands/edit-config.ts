import { ZConfigPatch } from '@keel/protocol';
import { requestBody } from '../bodies.ts';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { forceOption, type Register } from '../command.ts';
import { applyMergePatch, applySetPairs, deepEqual, InvalidSetting, isObject, mergePatch, pgPairs, type Json, type JsonObject } from '../config-edit.ts';
import { bodyText, type Ctl } from '../context.ts';
import { CliError, EXIT, failed, usageError } from '../errors.ts';
import { Asker } from '../interact.ts';
import { leaderFirst, target } from '../members.ts';
import { colorDiff, unifiedDiff } from '../render/diff.ts';
import { dumpYaml, parseYaml } from '../render/yaml.ts';

export interface EditConfigOptions {
  cluster?: string;
  set?: string[];
  pg?: string[];
  apply?: string;
  replace?: string;
  quiet?: boolean;
  force?: boolean;
}

/** Where --apply/--replace and the editor's text come from; tests replace it. */
export interface EditSources {
  readFile(file: string): string;
  /** Opens the text in $EDITOR and returns what was saved; null when no editor can be found. */
  edit(text: string, scope: string): string | null;
}

const realSources: EditSources = {
  readFile: (file) => fs.readFileSync(file === '-' ? 0 : file, 'utf8'),
  edit(text, scope) {
    const editor = process.env.EDITOR || ['editor', 'vi'].find((e) => spawnSync('sh', ['-c', `command -v ${e}`]).status === 0);
    if (!editor) return null;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keelctl-'));
    const file = path.join(dir, `${scope}-config.yaml`);
    try {
      fs.writeFileSync(file, text, { mode: 0o600 });
      const r = spawnSync('sh', ['-c', `${editor} "$1"`, 'sh', file], { stdio: 'inherit' });
      if (r.status !== 0) throw failed(`the editor exited with code ${r.status ?? r.signal}`);
      return fs.readFileSync(file, 'utf8');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};

function readYamlMapping(text: string, what: string): JsonObject {
  let v: unknown;
  try {
    v = parseYaml(text);
  } catch (e) {
    throw usageError(`${what}: not valid YAML (${(e as Error).message})`);
  }
  if (v === null || v === undefined) return {};
  if (!isObject(v)) throw usageError(`${what}: expected a mapping of configuration keys`);
  return v;
}

/**
 * Builds the new dynamic configuration (--replace, then --apply, then -s/-p, or the editor), shows the
 * unified diff, asks, and sends the difference as a JSON merge patch: PATCH /config to the leader (or
 * another member). If the /config key changed since it was read, nothing is sent.
 */
export async function editConfig(ctl: Ctl, o: EditConfigOptions, sources: EditSources = realSources): Promise<void> {
  const scope = ctl.scope(o.cluster);
  const snap = await ctl.readCluster(scope);
  const before: JsonObject = (snap.config?.value ?? {}) as JsonObject;
  const beforeText = dumpYaml(before);

  const fromStdin = o.apply === '-' || o.replace === '-';
  let changed: JsonObject = before;
  let given = false;
  try {
    if (o.replace !== undefined) {
      changed = readYamlMapping(read(sources, o.replace), o.replace === '-' ? 'stdin' : o.replace);
      given = true;
    }
    if (o.apply !== undefined) {
      changed = applyMergePatch(changed, readYamlMapping(read(sources, o.apply), o.apply === '-' ? 'stdin' : o.apply) as Json) as JsonObject;
      given = true;
    }
    const pairs = [...(o.set ?? []), ...pgPairs(o.pg ?? [])];
    if (pairs.length > 0) {
      changed = applySetPairs(changed, pairs);
      given = true;
    }
  } catch (e) {
    if (e instanceof InvalidSetting) throw usageError(e.message);
    throw e;
  }
  if (!given) {
    const edited = sources.edit(beforeText, scope);
    if (edited === null) throw usageError('nothing to change: pass -s KEY=VALUE, -p PARAM=VALUE, --apply FILE or --replace FILE, or set $EDITOR');
    changed = readYamlMapping(edited, 'the edited configuration');
  }

  if (deepEqual(before, changed)) {
    if (!o.quiet) ctl.io.out('Not changed');
    return;
  }
  if (!o.quiet) {
    const diff = unifiedDiff(beforeText, dumpYaml(changed));
    ctl.io.out((ctl.io.stdoutIsTTY ? colorDiff(diff) : diff).join('\n'));
  }
  if (!o.force) {
    if (fromStdin) throw usageError('the changes were read from stdin, so nobody can confirm them: pass --force to apply them');
    await new Asker(ctl.io, 'change the configuration').confirm('Apply these changes?', 'Aborted: the configuration was not changed');
  }

  // Somebody may have changed /config while we looked at the diff: then our diff is not what would apply.
  const now = await ctl.readCluster(scope);
  if ((now.config?.modRevision ?? 0) !== (snap.config?.modRevision ?? 0)) throw changedMeanwhile();

  const patch = mergePatch(before, changed);
  const members = leaderFirst(now);
  if (members.length === 0) throw failed(`no member of cluster ${scope} publishes a REST API address: cannot send PATCH /config`);
  let lastUnreachable: CliError | null = null;
  for (const m of members) {
    let r;
    try {
      r = await ctl.request(target(m), 'PATCH', 'config', { body: requestBody(ZConfigPatch, patch) });
    } catch (e) {
      if (!(e instanceof CliError) || e.exitCode !== EXIT.unreachable) throw e;
      ctl.io.err(`Warning: ${e.message}; trying another member`);
      lastUnreachable = e;
      continue;
    }
    if (r.status === 200) {
      ctl.io.out('Configuration changed');
      return;
    }
    if (r.status === 409) throw changedMeanwhile();
    ctl.io.out(`Failed: edit-config through member ${m.name}, status code=${r.status}, (${bodyText(r.text)})`);
    throw new CliError(EXIT.failed, '', { reported: true });
  }
  throw lastUnreachable ?? failed('Can not find accessible cluster member');
}

function changedMeanwhile(): CliError {
  return failed('the configuration was changed by someone else meanwhile; nothing was applied: run edit-config again to start from the new configuration');
}

function read(sources: EditSources, file: string): string {
  try {
    return sources.readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw usageError(`cannot read ${file === '-' ? 'stdin' : file}${code ? ` (${code})` : ''}`);
  }
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export const register: Register = (program: Command, run) => {
  program
    .command('edit-config')
    .description('Change the dynamic configuration: shows the diff, asks, then PATCH /config (JSON merge patch)')
    .argument('[cluster]', 'cluster name (default: the configured scope)')
    .option('-s, --set <key=value>', 'set a key; dotted for nested keys, the value is YAML (ttl=30, postgresql.use_pg_rewind=true); empty removes it; repeatable', collect)
    .option('-p, --pg <param=value>', 'set a PostgreSQL parameter (postgresql.parameters.<param>); repeatable', collect)
    .option('--apply <file>', 'merge the YAML file (- for stdin) into the configuration')
    .option('--replace <file>', 'replace the configuration with the YAML file (- for stdin)')
    .option('-q, --quiet', 'do not show the diff')
    .addOption(forceOption())
    .action((cluster: string | undefined, o: Omit<EditConfigOptions, 'cluster'>) =>
      run((ctl) => editConfig(ctl, { ...o, ...(cluster !== undefined ? { cluster } : {}) })),
    );
};
