import type { Action } from '@keel/ha-core';

/** One short token per action, for the loop's log line and the control plane's last decision. */
export function describeAction(a: Action): string {
  switch (a.type) {
    case 'demote':
      return a.mode === 'graceful' ? `demote(graceful, ${a.candidate ?? 'healthiest'})` : `demote(${a.mode})`;
    case 'clone':
    case 'rewind':
    case 'reinitialize':
      return `${a.type}(${a.from})`;
    case 'startReplica':
      return `startReplica(${a.leader ?? 'no leader'})`;
    case 'follow':
      return `follow(${a.leader})`;
    case 'takeOverLock':
      return `takeOverLock(from ${a.oldLeader})`;
    case 'syncSlots':
      return `syncSlots(+${a.create.join(',')} -${a.drop.join(',')})`;
    case 'syncStandbys':
      return a.standbyNames === null ? 'syncStandbys(off)' : `syncStandbys(${a.names.join(',') || 'none'})`;
    default:
      return a.type;
  }
}
