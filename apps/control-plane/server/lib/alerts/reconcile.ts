/**
 * From the conditions that hold now and the alerts that are open, what changes: pure. One open alert
 * per key (rule|cluster|subject): a condition that keeps holding never opens a second one nor notifies
 * again; a pending alert fires once its condition held `forSeconds`; an alert whose condition is gone
 * resolves (a firing one sends a recovery notice, a pending one is dropped quietly).
 */
import { conditionKey, type TCondition } from './rules.ts';

export interface TOpenAlert {
  id: bigint;
  key: string;
  status: 'pending' | 'firing';
  since: Date;
}

export interface TAlertPlan {
  /** New alerts: firing at once (notify) or pending. */
  create: { condition: TCondition; status: 'pending' | 'firing' }[];
  /** Pending alerts whose condition held long enough: fire (notify). */
  fire: { alert: TOpenAlert; condition: TCondition }[];
  /** Firing alerts whose condition is gone: resolve (recovery notice). */
  resolve: TOpenAlert[];
  /** Pending alerts whose condition is gone before firing: remove without notice. */
  drop: TOpenAlert[];
}

export function planAlerts(open: readonly TOpenAlert[], conditions: readonly TCondition[], now: Date): TAlertPlan {
  const plan: TAlertPlan = { create: [], fire: [], resolve: [], drop: [] };
  const byKey = new Map(open.map((a) => [a.key, a]));
  const holding = new Set<string>();
  for (const c of conditions) {
    const key = conditionKey(c);
    if (holding.has(key)) continue; // the same condition twice in one evaluation: one alert
    holding.add(key);
    const a = byKey.get(key);
    if (!a) plan.create.push({ condition: c, status: c.forSeconds <= 0 ? 'firing' : 'pending' });
    else if (a.status === 'pending' && now.getTime() - a.since.getTime() >= c.forSeconds * 1000) plan.fire.push({ alert: a, condition: c });
  }
  for (const a of open) {
    if (holding.has(a.key)) continue;
    if (a.status === 'firing') plan.resolve.push(a);
    else plan.drop.push(a);
  }
  return plan;
}
