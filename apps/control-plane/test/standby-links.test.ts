import { describe, expect, it } from 'vitest';
import { standbyLinks } from '../server/lib/standby-links.ts';

// A standby leader's `follows` matched against the members' connect addresses.
const m = (name: string, role: 'primary' | 'replica' | 'standby_leader', connectAddress: string, follows: string | null = null, stale = false) => ({
  name,
  role,
  connectAddress,
  follows,
  stale,
});

describe('standbyLinks', () => {
  const siteA = { scope: 'site-a', members: [m('a1', 'primary', '10.0.0.1:5432'), m('a2', 'replica', '10.0.0.2:5432')] };
  const siteB = { scope: 'site-b', members: [m('b1', 'standby_leader', '10.1.0.1:5432', '10.0.0.1:5432'), m('b2', 'replica', '10.1.0.2:5432')] };

  it('links a standby cluster to the cluster and member whose address its standby leader follows, both ways', () => {
    const links = standbyLinks([siteA, siteB]);
    expect(links.get('site-b')).toEqual({ standbyOf: { follows: '10.0.0.1:5432', leader: 'b1', cluster: 'site-a', member: 'a1' }, followedBy: [] });
    expect(links.get('site-a')).toEqual({ standbyOf: null, followedBy: ['site-b'] });
  });

  it('names a site the control plane does not know by its address only', () => {
    const lone = { scope: 'site-c', members: [m('c1', 'standby_leader', '10.2.0.1:5432', '192.0.2.9:6432')] };
    expect(standbyLinks([siteA, lone]).get('site-c')?.standbyOf).toEqual({ follows: '192.0.2.9:6432', leader: 'c1', cluster: null, member: null });
  });

  it('ignores a stale standby leader report and clusters that are not standby clusters', () => {
    const stale = { scope: 'site-b', members: [m('b1', 'standby_leader', '10.1.0.1:5432', '10.0.0.1:5432', true)] };
    const links = standbyLinks([siteA, stale]);
    expect(links.get('site-b')).toEqual({ standbyOf: null, followedBy: [] });
    expect(links.get('site-a')).toEqual({ standbyOf: null, followedBy: [] });
  });
});
