/**
 * Check an agent's hello: the token must be well-formed, known, not revoked and issued for the
 * cluster the agent names. On success the member row exists (created on first contact) and its
 * highest stored seq is returned for the welcome.
 */
import type { TDb } from '../db.ts';
import { agentTokenMatches, agentTokenPrefix } from '../lib/agent-token.ts';

export type TAgentAuth =
  | { ok: true; clusterId: string; memberId: string; lastSeq: number; tokenId: string }
  | { ok: false; reason: string };

export async function authenticateAgent(
  db: TDb,
  hello: { token: string; cluster: string; member: string; agentVersion: string },
): Promise<TAgentAuth> {
  const prefix = agentTokenPrefix(hello.token);
  if (!prefix) return { ok: false, reason: 'the agent token is not a Keel agent token (keel_at_…)' };
  const row = await db.agentToken.findUnique({
    where: { prefix },
    select: { id: true, hash: true, revokedAt: true, clusterId: true, cluster: { select: { scope: true } } },
  });
  // Same answer for "unknown" and "wrong secret": nothing to learn from the difference.
  if (!row || !agentTokenMatches(hello.token, row.hash)) return { ok: false, reason: 'the agent token is not valid' };
  if (row.revokedAt) return { ok: false, reason: `the agent token ${prefix} was revoked on ${row.revokedAt.toISOString()}` };
  if (row.cluster.scope !== hello.cluster) {
    return { ok: false, reason: `the agent token ${prefix} is for cluster "${row.cluster.scope}", not "${hello.cluster}"` };
  }
  const member = await db.member.upsert({
    where: { clusterId_name: { clusterId: row.clusterId, name: hello.member } },
    create: { clusterId: row.clusterId, name: hello.member, agentVersion: hello.agentVersion },
    update: { agentVersion: hello.agentVersion },
    select: { id: true, lastSeq: true },
  });
  await db.agentToken.update({ where: { id: row.id }, data: { lastUsedAt: new Date() }, select: { id: true } });
  return { ok: true, clusterId: row.clusterId, memberId: member.id, lastSeq: Number(member.lastSeq), tokenId: row.id };
}
