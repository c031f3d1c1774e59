/**
 * Check an agent's hello: the token must be well-formed, known, not revoked, issued for the
 * cluster the agent names and bound to the member it names. On success the member row exists
 * (created on first contact) and its highest stored seq is returned for the welcome.
 *
 * Tokens issued before tokens were bound to members (an empty member list) are refused until
 * re-issued: a per-cluster token could speak for every member of its cluster.
 */
import type { TDb } from '../db.ts';
import { agentTokenMatches, agentTokenPrefix } from '../lib/agent-token.ts';

export type TAgentAuth =
  | { ok: true; clusterId: string; memberId: string; lastSeq: number; tokenId: string; prefix: string }
  | {
      ok: false;
      reason: string;
      /** Set when a genuine token was used for something it may not do (worth an audit entry). */
      token?: { id: string; prefix: string };
    };

/** How an admin issues a token bound to a member (in refusals, so the operator knows what to do). */
export function issueHint(cluster: string, member: string): string {
  return `issue one with \`create-agent-token --cluster ${cluster} --member ${member}\` or on the admin tokens page`;
}

export async function authenticateAgent(
  db: TDb,
  hello: { token: string; cluster: string; member: string; agentVersion: string },
): Promise<TAgentAuth> {
  const prefix = agentTokenPrefix(hello.token);
  if (!prefix) return { ok: false, reason: 'the agent token is not a Keel agent token (keel_at_…)' };
  const row = await db.agentToken.findUnique({
    where: { prefix },
    select: { id: true, hash: true, revokedAt: true, clusterId: true, members: true, cluster: { select: { scope: true } } },
  });
  // Same answer for "unknown" and "wrong secret": nothing to learn from the difference.
  if (!row || !agentTokenMatches(hello.token, row.hash)) return { ok: false, reason: 'the agent token is not valid' };
  const token = { id: row.id, prefix };
  if (row.revokedAt) return { ok: false, token, reason: `the agent token ${prefix} was revoked on ${row.revokedAt.toISOString()}` };
  if (row.cluster.scope !== hello.cluster) {
    return { ok: false, token, reason: `the agent token ${prefix} is for cluster "${row.cluster.scope}", not "${hello.cluster}"` };
  }
  if (row.members.length === 0) {
    return { ok: false, token, reason: `the agent token ${prefix} was issued before tokens were bound to members and is no longer accepted; ${issueHint(hello.cluster, hello.member)}` };
  }
  if (!row.members.includes(hello.member)) {
    const list = row.members.map((m) => `"${m}"`).join(', ');
    return { ok: false, token, reason: `the agent token ${prefix} may speak for ${list} of cluster "${row.cluster.scope}", not for "${hello.member}"` };
  }
  const member = await db.member.upsert({
    where: { clusterId_name: { clusterId: row.clusterId, name: hello.member } },
    create: { clusterId: row.clusterId, name: hello.member, agentVersion: hello.agentVersion },
    update: { agentVersion: hello.agentVersion },
    select: { id: true, lastSeq: true },
  });
  await db.agentToken.update({ where: { id: row.id }, data: { lastUsedAt: new Date() }, select: { id: true } });
  return { ok: true, clusterId: row.clusterId, memberId: member.id, lastSeq: Number(member.lastSeq), tokenId: row.id, prefix };
}
