/** Users who may approve on a cluster (global approver/admin or a grant there), other than `except`. */
import type { TDb } from '../db.ts';

export async function approversOf(db: TDb, clusterId: string, except: string): Promise<{ id: string; email: string }[]> {
  return db.user.findMany({
    where: {
      id: { not: except },
      disabledAt: null,
      OR: [{ role: { in: ['approver', 'admin'] } }, { grants: { some: { clusterId, role: { in: ['approver', 'admin'] } } } }],
    },
    select: { id: true, email: true },
    orderBy: { email: 'asc' },
  });
}
