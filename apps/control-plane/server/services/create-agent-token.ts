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

export const ZCreateAgentToken = z.object({
  scope: ZScope,
  label: z.string().max(200).default(''),
});
export type TCreateAgentToken = z.input<typeof ZCreateAgentToken>;

export interface TCreatedAgentToken {
  id: string;
  /** The token itself: shown once, never stored. */
  token: string;
  prefix: string;
  scope: string;
}

/** Create a token for a cluster (creating the cluster when it is new). */
export async function createAgentToken(
  db: TDb,
  input: TCreateAgentToken,
  actor: { id: string | null; name: string },
): Promise<TCreatedAgentToken> {
  const { scope, label } = ZCreateAgentToken.parse(input);
  const t = generateAgentToken();
  return db.$transaction(async (tx) => {
    const cluster = await tx.cluster.upsert({ where: { scope }, create: { scope, name: scope }, update: {}, select: { id: true } });
    const row = await tx.agentToken.create({
      data: { clusterId: cluster.id, prefix: t.prefix, hash: t.hash, label, createdBy: actor.name },
      select: { id: true },
    });
    await appendAuditInTx(tx, { actorId: actor.id, actor: actor.name, action: 'agent_token.create', target: `cluster:${scope}`, details: { tokenId: row.id, prefix: t.prefix, label } });
    return { id: row.id, token: t.token, prefix: t.prefix, scope };
  });
}
