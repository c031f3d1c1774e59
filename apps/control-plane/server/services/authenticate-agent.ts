/**
 * Check an agent's hello: the token must be well-formed, known, not revoked, issued for the
 * cluster the agent names and bound to the member it names. On success the member row exists
 * (created on first contact) and its highest stored seq is returned for the welcome.
 *
 * Tokens issued before tokens were bound to members (an empty member list) are refused until
 * re-issued: a per-cluster token could speak for every member of its cluster.
 *
 * Plain pg on the shared pool, two statements (not Prisma's three queries): a restarted control
 * plane sees every agent say hello within seconds, and this is that storm's whole cost.
 */
import type pg from 'pg';
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

const FIND_TOKEN = `
SELECT t.id, t.hash, t.revoked_at AS "revokedAt", t.cluster_id AS "clusterId", t.members, c.scope
  FROM agent_tokens t JOIN clusters c ON c.id = t.cluster_id
 WHERE t.prefix = $1`;

// $1 cluster id, $2 member name, $3 agent version, $4 token id
const ADMIT_MEMBER = `
WITH used AS (UPDATE agent_tokens SET last_used_at = now() WHERE id = $4::uuid)
INSERT INTO members AS m (id, cluster_id, name, agent_version)
VALUES (gen_random_uuid(), $1::uuid, $2::text, $3::text)
ON CONFLICT (cluster_id, name) DO UPDATE SET agent_version = EXCLUDED.agent_version
RETURNING m.id, m.last_seq::text AS "lastSeq"`;

export async function authenticateAgent(
  sql: pg.Pool,
  hello: { token: string; cluster: string; member: string; agentVersion: string },
): Promise<TAgentAuth> {
  const prefix = agentTokenPrefix(hello.token);
  if (!prefix) return { ok: false, reason: 'the agent token is not a Keel agent token (keel_at_…)' };
  const found = await sql.query<{ id: string; hash: string; revokedAt: Date | null; clusterId: string; members: string[]; scope: string }>({
    name: 'keel_find_agent_token',
    text: FIND_TOKEN,
    values: [prefix],
  });
  const r0 = found.rows[0];
  const row = r0 ? { ...r0, cluster: { scope: r0.scope } } : null;
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
  const admitted = await sql.query<{ id: string; lastSeq: string }>({
    name: 'keel_admit_member',
    text: ADMIT_MEMBER,
    values: [row.clusterId, hello.member, hello.agentVersion, row.id],
  });
  const member = admitted.rows[0];
  if (!member) throw new Error(`member ${hello.cluster}/${hello.member} could not be recorded`);
  return { ok: true, clusterId: row.clusterId, memberId: member.id, lastSeq: Number(member.lastSeq), tokenId: row.id, prefix };
}
