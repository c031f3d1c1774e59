import type { TDb } from '../db.ts';
import type { TUserView } from './create-user.ts';

export async function listUsers(db: TDb): Promise<TUserView[]> {
  const rows = await db.user.findMany({ orderBy: { email: 'asc' }, select: { id: true, email: true, name: true, role: true, createdAt: true } });
  return rows.map((u) => ({ ...u, createdAt: u.createdAt.toISOString() }));
}
