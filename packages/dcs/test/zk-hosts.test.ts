import { describe, expect, it } from 'vitest';
import { parseZooKeeperHosts } from '../src/index.ts';

describe('parseZooKeeperHosts', () => {
  it("takes Patroni's zookeeper.hosts as a comma string or a list, with 2181 as the default port", () => {
    expect(parseZooKeeperHosts('a:2181, b ,c:2182')).toEqual(['a:2181', 'b:2181', 'c:2182']);
    expect(parseZooKeeperHosts(['a', 'b:1', 'a:2181'])).toEqual(['a:2181', 'b:1']);
    expect(parseZooKeeperHosts('[fd00::1]:2182,[fd00::2]')).toEqual(['[fd00::1]:2182', '[fd00::2]:2181']);
  });

  it('refuses what a ZooKeeper connect string cannot hold', () => {
    expect(() => parseZooKeeperHosts('')).toThrow('no zookeeper hosts given');
    expect(() => parseZooKeeperHosts('http://a:2181')).toThrow(/without a scheme/);
    expect(() => parseZooKeeperHosts('a:2181/chroot')).toThrow(/chroot path is not supported/);
    expect(() => parseZooKeeperHosts('a:99999')).toThrow(/bad port/);
    expect(() => parseZooKeeperHosts('fd00::1')).toThrow(/IPv6 addresses as \[addr\]:port/);
  });
});
