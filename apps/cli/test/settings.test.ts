import { describe, expect, it } from 'vitest';
import type { CliError } from '../src/errors.ts';
import { parseConfigText, parseDcsUrl, parseHostList, resolveSettings, type FileAccess } from '../src/settings.ts';
import { fixture } from './helpers.ts';

const files = (map: Record<string, string>): FileAccess => ({
  read: (p) => {
    if (!(p in map)) throw Object.assign(new Error('nope'), { code: 'ENOENT' });
    return map[p]!;
  },
  exists: (p) => p in map,
});

const AGENT_YAML = `
scope: demo
namespace: /service/
name: node1
restapi:
  listen: 127.0.0.1:8008
  connect_address: 127.0.0.1:8008
  authentication: { username: keel, password: s3cret }
etcd3:
  hosts: 127.0.0.1:2379,127.0.0.2:2379
postgresql:
  listen: 127.0.0.1:5432
  data_dir: /x
`;

describe('settings: finding the cluster', () => {
  it("reads the agent's own configuration: scope, namespace, etcd3 hosts, REST credentials", () => {
    const s = resolveSettings({ configFile: '/etc/keel.yml' }, {}, files({ '/etc/keel.yml': AGENT_YAML }));
    expect(s).toMatchObject({
      scope: 'demo',
      namespace: '/service/',
      etcdHosts: ['http://127.0.0.1:2379', 'http://127.0.0.2:2379'],
      restAuth: { username: 'keel', password: 's3cret' },
      configFile: '/etc/keel.yml',
      dcsTimeoutMs: 5000,
    });
  });

  it("reads Patroni's own member configuration (the sample node1.yml)", () => {
    const s = parseConfigText(fixture('patroni-node1.yml'), 'node1.yml');
    expect(s).toMatchObject({ scope: 'bench', namespace: '/service/', etcdHosts: ['http://127.0.0.1:23790'], restAuth: null });
  });

  it('prefers ctl.authentication over restapi.authentication, as Patroni does', () => {
    const s = parseConfigText(`${AGENT_YAML}\nctl:\n  authentication:\n    username: ops\n    password: pw\n`, 'x');
    expect(s.restAuth).toEqual({ username: 'ops', password: 'pw' });
  });

  it("takes TLS like patronictl: ctl's certificate and CA first, then restapi's; etcd3's https files", () => {
    const tlsYaml = AGENT_YAML.replace('  hosts: 127.0.0.1:2379,127.0.0.2:2379', '  hosts: 127.0.0.1:2379\n  protocol: https\n  cacert: /ca.pem\n  cert: /e.pem\n  key: /e.key').replace(
      '  connect_address: 127.0.0.1:8008',
      '  connect_address: 127.0.0.1:8008\n  certfile: /r.pem\n  keyfile: /r.key\n  cafile: /rca.pem',
    );
    const fromRest = resolveSettings({ configFile: '/k.yml' }, {}, files({ '/k.yml': tlsYaml }));
    expect(fromRest).toMatchObject({
      etcdHosts: ['https://127.0.0.1:2379'],
      etcdTls: { cacert: '/ca.pem', cert: '/e.pem', key: '/e.key' },
      restTls: { insecure: false, cacert: '/rca.pem', certfile: '/r.pem', keyfile: '/r.key' },
    });
    const fromCtl = resolveSettings({ configFile: '/k.yml' }, { PATRONI_CTL_INSECURE: 'true' }, files({ '/k.yml': `${tlsYaml}ctl:\n  certfile: /c.pem\n  cacert: /cca.pem\n` }));
    expect(fromCtl.restTls).toEqual({ insecure: true, cacert: '/cca.pem', certfile: '/c.pem' });
  });

  it('takes the file from KEEL_CONFIG, then PATRONICTL_CONFIG_FILE, then ~/.config', () => {
    const f = files({ '/a.yml': 'scope: a', '/b.yml': 'scope: b', '/home/u/.config/patroni/patronictl.yaml': 'scope: c' });
    expect(resolveSettings({}, { KEEL_CONFIG: '/a.yml', PATRONICTL_CONFIG_FILE: '/b.yml' }, f).scope).toBe('a');
    expect(resolveSettings({}, { PATRONICTL_CONFIG_FILE: '/b.yml' }, f).scope).toBe('b');
    expect(resolveSettings({}, { HOME: '/home/u' }, f).scope).toBe('c');
    expect(resolveSettings({}, { HOME: '/nowhere' }, f)).toMatchObject({ scope: null, etcdHosts: null, configFile: null });
  });

  it('lets the environment override the file, and flags override both', () => {
    const f = files({ '/k.yml': AGENT_YAML });
    const env = { PATRONI_SCOPE: 'envscope', PATRONI_ETCD3_HOSTS: "'10.0.0.1:2379','10.0.0.2:2379'", PATRONI_RESTAPI_USERNAME: 'e', PATRONI_RESTAPI_PASSWORD: 'p' };
    expect(resolveSettings({ configFile: '/k.yml' }, env, f)).toMatchObject({
      scope: 'envscope',
      etcdHosts: ['http://10.0.0.1:2379', 'http://10.0.0.2:2379'],
      restAuth: { username: 'e', password: 'p' },
    });
    expect(resolveSettings({ configFile: '/k.yml', scope: 'flag', dcsUrl: 'etcd3://9.9.9.9:1234', namespace: '/keel/' }, env, f)).toMatchObject({
      scope: 'flag',
      namespace: '/keel/',
      etcdHosts: ['http://9.9.9.9:1234'],
    });
  });

  it('reports an unreadable file or bad YAML as a usage error (exit 2) naming the file', () => {
    const err = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return e as CliError;
      }
      throw new Error('did not throw');
    };
    const e1 = err(() => resolveSettings({ configFile: '/missing.yml' }, {}, files({})));
    expect(e1.exitCode).toBe(2);
    expect(e1.message).toBe('cannot read the configuration file /missing.yml (ENOENT): check -c/--config-file');
    expect(err(() => resolveSettings({ configFile: '/bad.yml' }, {}, files({ '/bad.yml': 'scope: [' }))).message).toMatch(/^\/bad.yml: not valid YAML/);
    expect(err(() => parseConfigText('etcd:\n  host: 1.2.3.4:2379\n', 'p.yml')).message).toBe('p.yml: Keel talks to etcd through its v3 API: name the section etcd3, not etcd');
    expect(err(() => resolveSettings({ dcsTimeout: 'x' }, {}, files({}))).exitCode).toBe(2);
  });

  it('accepts the --dcs-url shapes patronictl users type', () => {
    expect(parseDcsUrl('127.0.0.1:2379')).toEqual({ etcd: ['http://127.0.0.1:2379'] });
    expect(parseDcsUrl('etcd3://h1:2379,etcd://h2')).toEqual({ etcd: ['http://h1:2379', 'http://h2:2379'] });
    expect(parseDcsUrl('https://h:1')).toEqual({ etcd: ['https://h:1'] });
    expect(parseDcsUrl('zookeeper://z1:2181,z2')).toEqual({ zookeeper: ['z1:2181', 'z2:2181'] });
    expect(() => parseDcsUrl('consul://h:8500')).toThrow(/unsupported DCS "consul"/);
  });

  it("reads the agent's zookeeper section, PATRONI_ZOOKEEPER_HOSTS, and refuses two DCS sections", () => {
    const f = files({ '/a.yml': 'scope: zk\nzookeeper:\n  hosts: [z1, "z2:2182"]\n' });
    expect(resolveSettings({ configFile: '/a.yml' }, {}, f)).toMatchObject({ scope: 'zk', zookeeperHosts: ['z1:2181', 'z2:2182'], etcdHosts: null });
    expect(resolveSettings({ configFile: '/a.yml' }, { PATRONI_ZOOKEEPER_HOSTS: 'e:1' }, f)).toMatchObject({ zookeeperHosts: ['e:1'], etcdHosts: null });
    expect(resolveSettings({ configFile: '/a.yml' }, { PATRONI_ETCD3_HOSTS: 'e:2379' }, f)).toMatchObject({ zookeeperHosts: null, etcdHosts: ['http://e:2379'] });
    expect(() => parseConfigText('etcd3:\n  hosts: e:2379\nzookeeper:\n  hosts: z\n', 'p.yml')).toThrow('p.yml: exactly one DCS section is allowed, found etcd3, zookeeper');
    expect(() => parseConfigText('zookeeper:\n  hosts: "z:0"\n', 'p.yml')).toThrow(/^p\.yml: zookeeper\.hosts: .*bad port/);
  });

  it('reads PATRONI_ETCD3_HOSTS in any of the list spellings Patroni accepts', () => {
    expect(parseHostList('h1:1,h2:2')).toEqual(['h1:1', 'h2:2']);
    expect(parseHostList("['h1:1', 'h2:2']")).toEqual(['h1:1', 'h2:2']);
  });
});
