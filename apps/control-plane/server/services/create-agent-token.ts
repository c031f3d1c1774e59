import { z } from 'zod';
import type { TDb } from '../db.ts';
import { generateAgentToken } from '../lib/agent-token.ts';
import { appendAuditInTx } from './append-audit.ts';

/** A cluster scope as agents spell it (Patroni's `scope`). */
export const ZScope = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-", starting with a letter or digit');

/** A member name as agents spell it (Patroni's `name`; the protocol allows 1-256 characters). */
export const ZMemberName = z
  .string()
  .trim()
  .min(1, 'enter the member name (the agent\'s `name`)')
  .max(256)
  .regex(/^[^\u0000-\u001f\u007f,]+$/, 'no control characters or commas');

/** At most this many members per token (one per member is the recommended use). */
export const MAX_TOKEN_MEMBERS = 64;

export const ZCreateAgentToken = z.object({
  scope: ZScope,
  /** The members this token may speak for: one (recommended) or an explicit list. */
  members: z
    .array(ZMemberName)
    .min(1, 'name the member (or members) this token is for')
    .max(MAX_TOKEN_MEMBERS, `at most ${MAX_TOKEN_MEMBERS} members per token`)
    .refine((m) => new Set(m).size === m.length, 'a member is named twice'),
  label: z.string().max(200).default(''),
});
export type TCreateAgentToken = z.input<typeof ZCreateAgentToken>;

export interface TCreatedAgentToken {
  id: string;
  /** The token itself: shown once, never stored. */
  token: string;
  prefix: string;
  scope: string;
  members: string[];
}

/** Create a token for members of a cluster (creating the cluster when it is new). */
export async function createAgentToken(
  db: TDb,
  input: TCreateAgentToken,
  actor: { id: string | null; name: string },
): Promise<TCreatedAgentToken> {
  const { scope, members, label } = ZCreateAgentToken.parse(input);
  const t = generateAgentToken();
  return db.$transaction(async (tx) => {
    // INSERT ... ON CONFLICT DO NOTHING: tokens for one new cluster may be created concurrently (upsert races)
    await tx.cluster.createMany({ data: [{ scope, name: scope }], skipDuplicates: true });
    const cluster = await tx.cluster.findUniqueOrThrow({ where: { scope }, select: { id: true } });
    const row = await tx.agentToken.create({
      data: { clusterId: cluster.id, prefix: t.prefix, hash: t.hash, label, members, createdBy: actor.name },
      select: { id: true },
    });
    await appendAuditInTx(tx, { actorId: actor.id, actor: actor.name, action: 'agent_token.create', target: `cluster:${scope}`, details: { tokenId: row.id, prefix: t.prefix, label, members } });
    return { id: row.id, token: t.token, prefix: t.prefix, scope, members };
  });
}
