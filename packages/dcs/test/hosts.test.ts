import { describe, expect, it } from 'vitest';
import { parseEtcdHosts } from '../src/index.ts';

describe('parseEtcdHosts', () => {
  it('accepts Patroni shapes: comma string, list, single host, url, section object', () => {
    expect(parseEtcdHosts('h1:2379,h2:2380')).toEqual(['http://h1:2379', 'http://h2:2380']);
    expect(parseEtcdHosts(' h1:2379 , h2 ')).toEqual(['http://h1:2379', 'http://h2:2379']);
    expect(parseEtcdHosts(['h1:2379', 'h2:2379'])).toEqual(['http://h1:2379', 'http://h2:2379']);
    expect(parseEtcdHosts('127.0.0.1:2379')).toEqual(['http://127.0.0.1:2379']);
    expect(parseEtcdHosts('https://etcd.example:2379')).toEqual(['https://etcd.example:2379']);
    expect(parseEtcdHosts({ host: '10.0.0.1:2379' })).toEqual(['http://10.0.0.1:2379']);
    expect(parseEtcdHosts({ hosts: 'a:1,b:2', protocol: 'https' })).toEqual(['https://a:1', 'https://b:2']);
    expect(parseEtcdHosts({ hosts: ['a:1', 'b:2'] })).toEqual(['http://a:1', 'http://b:2']);
    expect(parseEtcdHosts({ url: 'http://a:1/' })).toEqual(['http://a:1']);
    expect(parseEtcdHosts('[::1]:2379')).toEqual(['http://[::1]:2379']);
    expect(parseEtcdHosts('a:1,a:1')).toEqual(['http://a:1']);
  });

  it('rejects empty and malformed input', () => {
    expect(() => parseEtcdHosts('')).toThrow(/no etcd hosts/);
    expect(() => parseEtcdHosts([])).toThrow(/no etcd hosts/);
    expect(() => parseEtcdHosts({})).toThrow(/no etcd hosts/);
    expect(() => parseEtcdHosts('h:notaport')).toThrow(/bad port/);
    expect(() => parseEtcdHosts('h:70000')).toThrow(/bad port/);
    expect(() => parseEtcdHosts('ftp://h:1')).toThrow(/unsupported scheme/);
    expect(() => parseEtcdHosts('::1:2379')).toThrow(/IPv6/);
  });
});
