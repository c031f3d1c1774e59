import { slotNameForMember } from '@keel/protocol';
import { act } from './decision.ts';
import { isIgnored } from './permanent-slots.ts';
import type { Facts } from './facts.ts';
import type { Action, ClusterMember } from './types.ts';

/** The member `m` streams from: its replicatefrom member when that one runs, else the leader. */
function upstreamName(f: Facts, m: ClusterMember): string {
  const wanted = m.tags.replicatefrom;
  if (typeof wanted === 'string' && wanted !== m.name) {
    const up = f.cluster.members.find((x) => x.name === wanted);
    if (up && up.state === 'running') return wanted;
  }
  // No leader yet: slots are only computed then by a member about to take the lock, i.e. for me.
  return f.cluster.leader ?? f.me;
}

/**
 * One physical slot (Patroni's slot_name_from_member_name) per member that streams from me: on the
 * leader every member without a running replicatefrom target; on a replica the members tagged
 * replicatefrom it (cascading). Sorted, unique.
 */
export function desiredSlots(f: Facts): string[] {
  const names = f.cluster.members
    .filter((m) => m.name !== f.me && upstreamName(f, m) === f.me)
    .map((m) => slotNameForMember(m.name));
  return [...new Set(names)].sort();
}

/**
 * The syncSlots action that makes the primary's physical slots match the members, or null when
 * use_slots is off or nothing differs. `drop: false` right after a promotion: create what is missing
 * and let the next leader_ok tick reconcile the rest. Like Patroni, every physical slot that is
 * neither a member's, nor a permanent slot (`slots:`), nor matched by `ignore_slots` is dropped.
 */
export function slotSync(f: Facts, opts: { drop: boolean }): Action | null {
  if (!f.settings.useSlots) return null;
  const desired = desiredSlots(f);
  const existing = new Set(f.pg.slots);
  const create = desired.filter((s) => !existing.has(s));
  const permanent = f.settings.permanentSlots ?? {};
  const ignore = f.settings.ignoreSlots ?? [];
  const managed = (s: string) => desired.includes(s) || permanent[s]?.type === 'physical' || isIgnored(ignore, { name: s, type: 'physical' });
  const drop = opts.drop ? [...existing].filter((s) => !managed(s)).sort() : [];
  return create.length > 0 || drop.length > 0 ? act.syncSlots(create, drop) : null;
}
