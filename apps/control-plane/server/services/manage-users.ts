/**
 * Admin actions on users beyond create/role: disable/enable (a disabled user's sessions are deleted,
 * their API tokens stop working and their live feeds are closed at once), per-cluster role grants,
 * and cluster approval policies.
 */
import { z } from 'zod';
import type { Prisma } from '../db.ts';
import type { TAppDeps } from '../context.ts';
import { auditActor, type TActor } from '../lib/actor.ts';
import { AppError } from '../lib/app-error.ts';
import { ZPolicyRules, type TPolicyRules } from '../lib/policy.ts';
import { ZRole } from '../lib/roles.ts';
import { appendAuditInTx, byActor } from './append-audit.ts';
import { authorizeGlobal } from './authorize.ts';

export const ZSetUserDisabled = z.object({ userId: z.string().min(1), disabled: z.boolean(), reason: z.string().trim().min(3).max(2000) });

export async function setUserDisabled(deps: Pick<TAppDeps, 'db' | 'live'>, actor: TActor, input: z.input<typeof ZSetUserDisabled>): Promise<{ userId: string; disabled: boolean; sessionsEnded: number; feedsClosed: number }> {
  authorizeGlobal(actor, 'admin');
  const q = ZSetUserDisabled.parse(input);
  if (q.userId === actor.userId && q.disabled) throw new AppError('bad_request', 'You cannot disable yourself.');
  const r = await deps.db.$transaction(async (tx) => {
    const user = await tx.user.findUnique({ where: { id: q.userId }, select: { email: true, disabledAt: true } });
    if (!user) throw new AppError('not_found', 'There is no such user.');
    await tx.user.update({ where: { id: q.userId }, data: { disabledAt: q.disabled ? (user.disabledAt ?? new Date()) : null }, select: { id: true } });
    const ended = q.disabled ? (await tx.session.deleteMany({ where: { userId: q.userId } })).count : 0;
    await appendAuditInTx(tx, byActor(auditActor(actor), { action: q.disabled ? 'user.disable' : 'user.enable', target: `user:${user.email}`, outcome: 'ok', details: { userId: q.userId, reason: q.reason, sessionsEnded: ended } }));
    return ended;
  });
  const feedsClosed = q.disabled ? (deps.live?.disconnectUser(q.userId, 'your account was disabled') ?? 0) : 0;
  return { userId: q.userId, disabled: q.disabled, sessionsEnded: r, feedsClosed };
}

export const ZGrantClusterRole = z.object({ userId: z.string().min(1), cluster: z.string().min(1), role: ZRole.nullable() });

/** Grant a role on one cluster (null removes the grant). */
export async function grantClusterRole(deps: Pick<TAppDeps, 'db'>, actor: TActor, input: z.input<typeof ZGrantClusterRole>): Promise<{ userId: string; cluster: string; role: string | null }> {
  authorizeGlobal(actor, 'admin');
  const q = ZGrantClusterRole.parse(input);
  return deps.db.$transaction(async (tx) => {
    const user = await tx.user.findUnique({ where: { id: q.userId }, select: { email: true } });
    const cluster = await tx.cluster.findUnique({ where: { scope: q.cluster }, select: { id: true } });
    if (!user) throw new AppError('not_found', 'There is no such user.');
    if (!cluster) throw new AppError('not_found', `There is no cluster "${q.cluster}".`);
    const key = { userId_clusterId: { userId: q.userId, clusterId: cluster.id } };
    if (q.role === null) await tx.roleGrant.deleteMany({ where: { userId: q.userId, clusterId: cluster.id } });
    else await tx.roleGrant.upsert({ where: key, create: { userId: q.userId, clusterId: cluster.id, role: q.role }, update: { role: q.role } });
    await appendAuditInTx(tx, byActor(auditActor(actor), {
      action: q.role === null ? 'user.revoke_cluster_role' : 'user.grant_cluster_role', target: `user:${user.email}`, cluster: q.cluster, outcome: 'ok', details: { userId: q.userId, role: q.role },
    }));
    return { userId: q.userId, cluster: q.cluster, role: q.role };
  });
}

export async function listClusterGrants(deps: Pick<TAppDeps, 'db'>, actor: TActor): Promise<{ userId: string; email: string; cluster: string; role: string }[]> {
  authorizeGlobal(actor, 'admin');
  const rows = await deps.db.roleGrant.findMany({ select: { role: true, user: { select: { id: true, email: true } }, cluster: { select: { scope: true } } }, orderBy: { createdAt: 'asc' } });
  return rows.map((r) => ({ userId: r.user.id, email: r.user.email, cluster: r.cluster.scope, role: r.role }));
}

export const ZSetPolicy = z.object({ cluster: z.string().min(1), rules: ZPolicyRules });

export async function setClusterPolicy(deps: Pick<TAppDeps, 'db'>, actor: TActor, input: z.input<typeof ZSetPolicy>): Promise<{ cluster: string; rules: TPolicyRules }> {
  authorizeGlobal(actor, 'admin');
  const q = ZSetPolicy.parse(input);
  return deps.db.$transaction(async (tx) => {
    const cluster = await tx.cluster.findUnique({ where: { scope: q.cluster }, select: { id: true, policy: { select: { rules: true } } } });
    if (!cluster) throw new AppError('not_found', `There is no cluster "${q.cluster}".`);
    const rules = q.rules as unknown as Prisma.InputJsonValue;
    await tx.clusterPolicy.upsert({ where: { clusterId: cluster.id }, create: { clusterId: cluster.id, rules, updatedBy: actor.email }, update: { rules, updatedBy: actor.email } });
    await appendAuditInTx(tx, byActor(auditActor(actor), { action: 'policy.update', target: `cluster:${q.cluster}`, cluster: q.cluster, outcome: 'ok', details: { from: cluster.policy?.rules ?? null, to: q.rules } }));
    return { cluster: q.cluster, rules: q.rules };
  });
}

export async function getClusterPolicy(deps: Pick<TAppDeps, 'db'>, cluster: string): Promise<TPolicyRules | null> {
  const c = await deps.db.cluster.findUnique({ where: { scope: cluster }, select: { policy: { select: { rules: true } } } });
  if (!c) throw new AppError('not_found', `There is no cluster "${cluster}".`);
  return c.policy ? ZPolicyRules.parse(c.policy.rules) : null;
}
