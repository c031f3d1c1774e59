/** "member X dies": the readiness of the cluster without X, from every member's latest snapshot. */
import type { TDb } from '../db.ts';
import { AppError } from '../lib/app-error.ts';
import { whatIf, type TWhatIf } from '../lib/failover-readiness.ts';
import { memberView } from '../lib/member-view.ts';
import { MEMBER_SELECT, type TViewOptions } from './list-clusters.ts';

export async function whatIfFailover(db: TDb, scope: string, dies: string, opts: TViewOptions): Promise<TWhatIf> {
  const c = await db.cluster.findUnique({ where: { scope }, select: { members: { select: MEMBER_SELECT, orderBy: { name: 'asc' } } } });
  if (!c) throw new AppError('not_found', `There is no cluster "${scope}".`);
  if (!c.members.some((m) => m.name === dies)) throw new AppError('bad_request', `"${dies}" is not a member of ${scope}.`);
  const members = c.members.map((m) => memberView(m, { now: opts.now, staleAfterSeconds: opts.staleAfterSeconds, connected: opts.presence.isConnected(m.id) }));
  return whatIf(members, dies);
}
