import { act, decision } from '../decision.ts';
import type { Facts } from '../facts.ts';
import type { Decision } from '../types.ts';

/**
 * A former primary that may have diverged from `leader`: pg_rewind when allowed, else re-clone. A
 * failed rewind always re-clones: it can leave the data directory unusable.
 */
export function recoverDiverged(f: Facts, leader: string, why: string): Decision {
  if (f.memory.lastFailure?.kind === 'rewind') {
    return decision('reinitialize', `reinitializing from (${leader}) because pg_rewind failed`, [act.reinitialize(leader)]);
  }
  if (!f.settings.useRewind) {
    return decision('reinitialize', `reinitializing from (${leader}) because ${why} and use_pg_rewind is off`, [
      act.reinitialize(leader),
    ]);
  }
  return decision('rewind', `running pg_rewind from (${leader}) because ${why}`, [act.rewind(leader)]);
}
