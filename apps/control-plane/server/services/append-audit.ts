/**
 * Append one entry to the hash-chained audit log. Appends are serialised by a transaction-scoped
 * advisory lock so that each entry links to the one before it.
 */
import type { Prisma, TDb } from '../db.ts';
import type { TAuditActor } from '../lib/actor.ts';
import type { TAuditAction, TAuditOutcome } from '../lib/audit-actions.ts';
import { GENESIS_HASH, auditHash } from '../lib/audit-hash.ts';

export interface TAuditInput {
  actorId: string | null;
  /** E-mail, "cli" or "system". */
  actor: string;
  action: TAuditAction;
  target: string;
  details?: Record<string, unknown>;
  channel?: TAuditActor['channel'] | null;
  address?: string | null;
  cluster?: string | null;
  outcome?: TAuditOutcome | null;
}

export const AUDIT_LOCK = 0x6b65656c; // "keel"

type Tx = Prisma.TransactionClient;

export async function appendAuditInTx(tx: Tx, input: TAuditInput): Promise<{ id: bigint; hash: string }> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(${AUDIT_LOCK})`;
  const last = await tx.auditLog.findFirst({ orderBy: { id: 'desc' }, select: { hash: true } });
  const prevHash = last?.hash ?? GENESIS_HASH;
  const at = new Date();
  const details = input.details ?? {};
  const extra = { channel: input.channel ?? null, address: input.address ?? null, cluster: input.cluster ?? null, outcome: input.outcome ?? null };
  const hash = auditHash(prevHash, { at: at.toISOString(), actorId: input.actorId, actor: input.actor, action: input.action, target: input.target, details, ...extra });
  const row = await tx.auditLog.create({
    data: { at, actorId: input.actorId, actor: input.actor, action: input.action, target: input.target, details: details as Prisma.InputJsonValue, ...extra, prevHash, hash },
    select: { id: true, hash: true },
  });
  return row;
}

export async function appendAudit(db: TDb, input: TAuditInput): Promise<{ id: bigint; hash: string }> {
  return db.$transaction((tx) => appendAuditInTx(tx, input));
}

/** An entry by an actor (session, API token, CLI, system). */
export function byActor(a: TAuditActor, entry: Omit<TAuditInput, 'actorId' | 'actor' | 'channel' | 'address'>): TAuditInput {
  return { actorId: a.actorId, actor: a.actor, channel: a.channel, address: a.address, ...entry };
}
