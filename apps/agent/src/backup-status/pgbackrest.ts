/**
 * pgBackRest's `info --output=json` (2.45) as a TBackupStatus: the stanza's status code and message,
 * its backups (newest by stop time), the backup lock, and the WAL range of the current database.
 */
import { z } from 'zod';
import type { TBackupInfo, TBackupStatus } from '@keel/protocol';
import { epochSeconds, errorStatus, lastLines, runFailure, type ToolOutput } from './common.ts';

const ZStatus = z.object({ code: z.number().int(), message: z.string() });

// Only what Keel reads; pgBackRest's other keys pass through (its db system-id is beyond 2^53).
const ZInfoBackup = z.object({
  label: z.string().min(1),
  type: z.enum(['full', 'diff', 'incr']),
  error: z.boolean().optional(),
  timestamp: z.object({ start: z.number(), stop: z.number() }),
  archive: z.object({ start: z.string().nullable(), stop: z.string().nullable() }).nullable().optional(),
  info: z
    .object({
      size: z.number().optional(),
      repository: z.object({ delta: z.number().optional(), size: z.number().optional() }).optional(),
    })
    .optional(),
  database: z.object({ id: z.number().int() }).optional(),
});

const ZInfoStanza = z.object({
  name: z.string(),
  status: ZStatus.extend({ lock: z.object({ backup: z.object({ held: z.boolean() }).optional() }).optional() }),
  backup: z.array(ZInfoBackup),
  archive: z.array(z.object({ database: z.object({ id: z.number().int() }), min: z.string().nullable(), max: z.string().nullable() })),
  repo: z.array(z.object({ key: z.number().int(), status: ZStatus })).optional(),
});

const ZInfo = z.array(ZInfoStanza);

/** pgBackRest's stanza status codes (info command): 0 ok, 2 no valid backups; the others are errors. */
const OK = 0;
const NO_VALID_BACKUPS = 2;

function size(n: number | undefined): number | null {
  return n !== undefined && Number.isSafeInteger(n) && n >= 0 ? n : null;
}

function backupInfo(b: z.infer<typeof ZInfoBackup>): TBackupInfo {
  return {
    label: b.label,
    type: b.type,
    startedAt: epochSeconds(b.timestamp.start),
    finishedAt: epochSeconds(b.timestamp.stop)!, // filtered: a valid time
    sizeBytes: size(b.info?.size),
    repoBytes: size(b.info?.repository?.delta),
    walStart: b.archive?.start ?? null,
    walStop: b.archive?.stop ?? null,
  };
}

/** The stanza's message, with each repository's own when they say more (pgBackRest says "other" at the top). */
function stanzaMessage(s: z.infer<typeof ZInfoStanza>): string {
  const repos = (s.repo ?? []).filter((r) => r.status.code !== OK && r.status.message !== s.status.message).map((r) => `repo${r.key}: ${r.status.message}`);
  return [s.status.message, ...repos].join('; ');
}

export function parsePgBackRestInfo(stanza: string, out: ToolOutput, checkedAt: string): TBackupStatus {
  const base = { tool: 'pgbackrest' as const, target: stanza, checkedAt };
  const failed = runFailure('pgbackrest info', out);
  if (failed) return { ...base, ...failed };
  let json: unknown;
  try {
    json = JSON.parse(out.stdout);
  } catch {
    return { ...base, ...errorStatus(`pgbackrest info printed something that is not JSON: ${lastLines(out.stdout)}`) };
  }
  const parsed = ZInfo.safeParse(json);
  if (!parsed.success) return { ...base, ...errorStatus(`pgbackrest info printed JSON of an unexpected shape (at ${parsed.error.issues[0]?.path.join('.') || 'the top'})`) };
  const s = parsed.data.find((x) => x.name === stanza);
  if (!s) return { ...base, ...errorStatus(`pgbackrest info does not list the stanza ${stanza}`) };

  const backups = s.backup.filter((b) => epochSeconds(b.timestamp.stop) !== null).sort((a, b) => a.timestamp.stop - b.timestamp.stop);
  const last = backups[backups.length - 1];
  const lastFull = backups.filter((b) => b.type === 'full').pop();
  // the archive of the current database (the highest id: a stanza-upgrade adds one)
  const dbId = Math.max(0, ...s.archive.map((a) => a.database.id));
  const archive = s.archive.find((a) => a.database.id === dbId) ?? null;
  const notes: string[] = [];
  if (last?.error) notes.push(`backup ${last.label} has files with page checksum errors`);
  const code = s.status.code;
  const state = code === OK ? (backups.length ? 'ok' : 'no_backups') : code === NO_VALID_BACKUPS ? 'no_backups' : 'error';
  return {
    ...base,
    state,
    message: code === OK ? (notes.length ? notes.join('; ') : null) : [stanzaMessage(s), ...notes].join('; '),
    last: last ? backupInfo(last) : null,
    lastFull: lastFull ? backupInfo(lastFull) : null,
    count: backups.length,
    walArchive: archive ? { min: archive.min, max: archive.max } : null,
    running: s.status.lock?.backup?.held ?? null,
  };
}

