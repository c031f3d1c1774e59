import type { TDb } from '../db.ts';
import type { TRole } from '../lib/roles.ts';
import type { TUserView } from './create-user.ts';
import { appendAuditInTx } from './append-audit.ts';

export class LastAdminError extends Error {
  constructor() {
    super('the last admin cannot lose the admin role');
    this.name = 'LastAdminError';
  }
}

/** Change a user's role; refuses to demote the last admin. Takes effect on the user's next request. */
export async function setUserRole(db: TDb, userId: string, role: TRole, actor: { id: string | null; name: string }): Promise<TUserView | null> {
  return db.$transaction(async (tx) => {
    const user = await tx.user.findUnique({ where: { id: userId }, select: { id: true, email: true, role: true } });
    if (!user) return null;
    if (user.role === 'admin' && role !== 'admin') {
      const admins = await tx.user.count({ where: { role: 'admin' } });
      if (admins <= 1) throw new LastAdminError();
    }
    const updated = await tx.user.update({ where: { id: userId }, data: { role }, select: { id: true, email: true, name: true, role: true, createdAt: true } });
    if (user.role !== role) {
      await appendAuditInTx(tx, { actorId: actor.id, actor: actor.name, action: 'user.set_role', target: `user:${user.email}`, details: { userId, from: user.role, to: role } });
    }
    return { ...updated, createdAt: updated.createdAt.toISOString() };
  });
}
