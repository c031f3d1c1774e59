import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  loadConfig,
  parseConfig,
  redactConfig,
  validateDynamicConfig,
  withDynamicDefaults,
  type LoadedConfig,
} from '../src/config.ts';
import { minimal } from './minimal-config.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const SAMPLE = path.join(here, 'fixtures', 'patroni-3.0.2-node1.yml');


function parse(text: string, env: NodeJS.ProcessEnv = {}): LoadedConfig {
  return parseConfig(text, 'test.yml', env);
}

/** The ConfigError thrown for `text`, or a failed expectation. */
function problems(text: string, env: NodeJS.ProcessEnv = {}): { message: string; list: readonly string[] } {
  try {
    parse(text, env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    const err = e as ConfigError;
    return { message: err.message, list: err.problems };
  }
  throw new Error('expected a ConfigError');
}

/** Replace one line of the minimal config. */
function withLine(from: string, to: string): string {
  const text = minimal();
  expect(text).toContain(from);
  return text.replace(from, to);
}

describe('the Patroni 3.0.2 sample (node1.generated.yml)', () => {
  it('loads unchanged, without warnings (synchronous_mode is implemented)', () => {
    const { config, warnings } = loadConfig(SAMPLE, {});
    expect(warnings).toEqual([]);
    expect(config.scope).toBe('bench');
    expect(config.name).toBe('node1');
    expect(config.namespace).toBe('/service/');
    expect(config.restapi.listen).toEqual({ host: '127.0.0.1', port: 28008 });
    expect(config.restapi.connect_address).toEqual({ host: '127.0.0.1', port: 28008 });
    expect(config.restapi.api_url).toBe('http://127.0.0.1:28008/patroni');
    expect(config.etcd3).toEqual({ hosts: ['127.0.0.1:23790'], protocol: 'http' });
    expect(config.postgresql.listen).toEqual({ host: '127.0.0.1', hosts: ['127.0.0.1'], port: 25432, local_host: 'localhost' });
    expect(config.postgresql.connect_address).toEqual({ host: '127.0.0.1', port: 25432 });
    expect(config.postgresql.conn_url).toBe('postgres://127.0.0.1:25432/postgres');
    expect(config.postgresql.data_dir).toBe('/var/lib/keel-sample/node1/data');
    expect(config.postgresql.bin_dir).toBe('/usr/lib/postgresql/15/bin');
    expect(config.postgresql.pgpass).toBe('/var/lib/keel-sample/node1/pgpass');
    expect(config.postgresql.authentication.superuser).toEqual({ username: 'postgres', password: 'bench-super' });
    expect(config.postgresql.authentication.rewind?.username).toBe('rewinder');
    expect(config.postgresql.pg_hba).toHaveLength(3);
    expect(config.postgresql.parameters['log_line_prefix']).toBe('%m [%p] %q%u@%d ');
    expect(config.watchdog.mode).toBe('off');
    expect(config.log).toMatchObject({ level: 'INFO', type: 'json' });
    expect(config.tags).toEqual({ nofailover: false, noloadbalance: false, clonefrom: false, nosync: false });
    expect(config.bootstrap.initdb).toEqual([{ encoding: 'UTF8' }, { locale: 'C.UTF-8' }, 'data-checksums']);
    expect(config.bootstrap.initdb_args).toEqual(['--encoding=UTF8', '--locale=C.UTF-8', '--data-checksums']);
  });

  it('keeps bootstrap.dcs as Patroni writes it to /config (rest_config.json), unimplemented keys included', () => {
    const { config } = loadConfig(SAMPLE, {});
    // GET /config of the cluster that node1.generated.yml bootstrapped
    const written = JSON.parse(readFileSync(path.join(here, 'fixtures', 'patroni-3.0.2-rest_config.json'), 'utf8')) as unknown;
    expect(config.bootstrap.dcs).toEqual(written);
  });

  it('reads "hot_standby: \'on\'" as the string and unquoted on/off as YAML 1.1 booleans', () => {
    const { config } = parse(minimal('bootstrap:\n  dcs:\n    postgresql:\n      parameters: {hot_standby: "on", fsync: off, x: y}\n'));
    expect(config.bootstrap.dcs.postgresql?.parameters).toEqual({ hot_standby: 'on', fsync: false, x: 'y' });
  });
});

describe('defaults', () => {
  it('fills Keel and Patroni defaults', () => {
    const { config, warnings } = parse(minimal());
    expect(warnings).toEqual([]);
    expect(config.namespace).toBe('/service/');
    expect(config.restapi.connect_address).toEqual({ host: '10.0.0.1', port: 8008 });
    expect(config.postgresql.connect_address).toEqual({ host: '10.0.0.1', port: 5432 });
    expect(config.postgresql.bin_dir).toBeUndefined();
    expect(config.postgresql.pgpass).toBe('/var/lib/postgresql/15/.pgpass_keel_n1');
    expect(config.postgresql.pg_hba).toBeUndefined();
    expect(config.postgresql.use_unix_socket).toBe(false);
    expect(config.log).toEqual({ level: 'INFO', type: 'json', file_size: 25_000_000, file_num: 4 });
    expect(config.watchdog).toEqual({ mode: 'automatic', device: '/dev/watchdog', safety_margin: 5 });
    expect(config.bootstrap).toEqual({ dcs: {}, initdb: [], initdb_args: [], pg_hba: [] });
    expect(config.controlplane).toBeUndefined();
    expect(withDynamicDefaults(config.bootstrap.dcs)).toMatchObject({ ttl: 30, loop_wait: 10, retry_timeout: 10, maximum_lag_on_failover: 1048576, primary_start_timeout: 300 });
  });

  it('normalizes the namespace', () => {
    expect(parse(minimal('namespace: service')).config.namespace).toBe('/service/');
    expect(parse(minimal('namespace: /keel')).config.namespace).toBe('/keel/');
    expect(parse(minimal('namespace: //a//b//')).config.namespace).toBe('/a/b/');
  });

  it('derives the pgpass name safely from odd member names', () => {
    const { config } = parse(minimal().replace('name: n1', 'name: "db 1"'));
    expect(config.postgresql.pgpass).toBe('/var/lib/postgresql/15/.pgpass_keel_db_1');
  });
});

describe('addresses', () => {
  it('takes a comma list and "*" for postgresql.listen, like Patroni', () => {
    const a = parse(withLine('listen: 10.0.0.1:5432', 'listen: 0.0.0.0,:::5432\n  connect_address: db1.example.com:5432'));
    expect(a.config.postgresql.listen).toEqual({ host: '0.0.0.0,::', hosts: ['0.0.0.0', '::'], port: 5432, local_host: 'localhost' });
    expect(a.config.postgresql.connect_address).toEqual({ host: 'db1.example.com', port: 5432 });
    const b = parse(withLine('listen: 10.0.0.1:5432', 'listen: "*:5433"\n  connect_address: 10.0.0.1:5433'));
    expect(b.config.postgresql.listen.host).toBe('*');
    const c = parse(withLine('listen: 10.0.0.1:5432', 'listen: "[::1]:5432"'));
    expect(c.config.postgresql.connect_address).toEqual({ host: '::1', port: 5432 });
    expect(c.config.postgresql.conn_url).toBe('postgres://[::1]:5432/postgres');
  });

  it('needs connect_address when listen is a wildcard', () => {
    const { list } = problems(withLine('listen: 10.0.0.1:8008', 'listen: 0.0.0.0:8008'));
    expect(list).toEqual(['restapi.connect_address: required because restapi.listen ("0.0.0.0:8008") is a wildcard address']);
    const pg = problems(withLine('listen: 10.0.0.1:5432', 'listen: "*:5432"'));
    expect(pg.list).toEqual(['postgresql.connect_address: required because postgresql.listen ("*:5432") is a wildcard address']);
  });

  it('refuses a wildcard connect_address', () => {
    const { list } = problems(minimal().replace('listen: 10.0.0.1:8008', 'listen: 10.0.0.1:8008\n  connect_address: 0.0.0.0:8008'));
    expect(list[0]).toMatch(/^restapi\.connect_address: expected an address other members can connect to/);
  });

  it('takes etcd3 hosts as a string, a list, host or url, with 2379 as the default port', () => {
    const text = (etcd: string): string => minimal().replace('etcd3:\n  hosts: 10.0.0.9:2379', `etcd3:\n${etcd}`);
    expect(parse(text('  hosts: a:1,b:2, c')).config.etcd3?.hosts).toEqual(['a:1', 'b:2', 'c:2379']);
    expect(parse(text('  hosts: [a:1, "[fd00::1]:2"]')).config.etcd3?.hosts).toEqual(['a:1', '[fd00::1]:2']);
    expect(parse(text('  host: a')).config.etcd3?.hosts).toEqual(['a:2379']);
    const url = parse(text('  url: http://u:pw@e1:2399'));
    expect(url.config.etcd3).toEqual({ hosts: ['e1:2399'], protocol: 'http', username: 'u', password: 'pw' });
  });

  it('takes etcd3 https with a CA and a client certificate', () => {
    const { config, warnings } = parse(
      minimal().replace('  hosts: 10.0.0.9:2379', '  hosts: 10.0.0.9:2379\n  protocol: https\n  cacert: /etc/keel/ca.pem\n  cert: /etc/keel/etcd.pem\n  key: /etc/keel/etcd.key'),
    );
    expect(config.etcd3).toMatchObject({ protocol: 'https', cacert: '/etc/keel/ca.pem', cert: '/etc/keel/etcd.pem', key: '/etc/keel/etcd.key' });
    expect(warnings).toEqual([]);
  });
});

describe('errors', () => {
  it('reports a typo with a suggestion from the siblings', () => {
    const { list } = problems(withLine('listen: 10.0.0.1:8008', 'listen: 10.0.0.1:8008\n  lisen: 10.0.0.1:8009'));
    expect(list).toEqual(['restapi.lisen: unknown key (did you mean "listen"?)']);
    expect(problems(minimal('bootstrap:\n  dcs:\n    loop_wiat: 5\n')).list).toEqual([
      'bootstrap.dcs.loop_wiat: unknown key (did you mean "loop_wait"?)',
    ]);
    expect(problems(minimal('postgresql2: {}\n')).list).toEqual(['postgresql2: unknown key (did you mean "postgresql"?)']);
  });

  it('says where a misplaced key belongs', () => {
    expect(problems(minimal().replace('  data_dir:', '  bogus_setting: 1\n  data_dir:')).list).toEqual(['postgresql.bogus_setting: unknown key']);
    expect(problems(minimal().replace('  data_dir:', '  data_directory: /x\n  data_dir:')).list).toEqual([
      'postgresql.data_directory: unknown key (did you mean "data_dir"?)',
    ]);
    expect(problems(withLine('listen: 10.0.0.1:8008', 'listen: 10.0.0.1:8008\n  synchronous_node_count: 2')).list).toEqual([
      'restapi.synchronous_node_count: unknown key here (Patroni expects it at bootstrap.dcs.synchronous_node_count)',
    ]);
  });

  it('gives the YAML line and column of a syntax error', () => {
    const { list, message } = problems('scope: demo\nname: n1\nrestapi:\n  listen: [1, 2\n  x: 1\n');
    expect(list[0]).toMatch(/^line \d+, column \d+: YAML syntax error: /);
    expect(message).toMatch(/^test\.yml: invalid configuration \(\d+ problems?\):\n/);
    const tab = problems('scope: demo\nname: n1\n\tbad: 1\n');
    expect(tab.list[0]).toMatch(/^line 3, column 1: YAML syntax error/);
  });

  it('never quotes the source line of a YAML error (it could hold a password)', () => {
    const { message } = problems('postgresql:\n  authentication:\n    superuser: {password: "hunter2-secret\n');
    expect(message).not.toContain('hunter2');
  });

  it('reports wrong types', () => {
    const text = minimal('bootstrap:\n  dcs:\n    ttl: thirty\n    check_timeline: "yes please"\n    maximum_lag_on_failover: 1.5\ntags:\n  nofailover: maybe\n  failover_priority: "2"\n  custom: {a: 1}\n');
    expect(problems(text).list).toEqual([
      'bootstrap.dcs.ttl: expected an integer, got "thirty"',
      'bootstrap.dcs.maximum_lag_on_failover: expected an integer, got 1.5',
      'bootstrap.dcs.check_timeline: expected true or false, got "yes please"',
      'tags.nofailover: expected true or false, got "maybe"',
      'tags.custom: expected a string, number or boolean (custom tag), got a mapping',
    ]);
  });

  it('refuses timings that cannot work: negative, beyond a timer (2^31-1 ms), not integers', () => {
    const text = minimal('bootstrap:\n  dcs:\n    ttl: 2147484\n    loop_wait: 1e400\n    retry_timeout: -1\n    primary_start_timeout: -5\n    maximum_lag_on_failover: 9007199254740992\n');
    expect(problems(text).list).toEqual([
      'bootstrap.dcs.ttl: must be <= 2147483 (seconds; no timer may exceed 2^31-1 ms), got 2147484',
      'bootstrap.dcs.loop_wait: expected an integer, got Infinity',
      'bootstrap.dcs.retry_timeout: must be >= 0, got -1',
      'bootstrap.dcs.maximum_lag_on_failover: must be <= 9007199254740991, got 9007199254740992',
      'bootstrap.dcs.primary_start_timeout: must be >= 0, got -5',
    ]);
  });

  it("raises values below Keel's floors with a warning, as Patroni does", () => {
    const { config, warnings } = parse(minimal('bootstrap:\n  dcs:\n    ttl: 4\n    loop_wait: 0\n    retry_timeout: 1\n'));
    expect(config.bootstrap.dcs).toMatchObject({ ttl: 4, loop_wait: 0, retry_timeout: 1 });
    expect(warnings).toEqual([
      "bootstrap.dcs.ttl: ttl=4 can't be smaller than 5; using 5 (the configuration keeps the values as written)",
      "bootstrap.dcs.ttl: loop_wait=0 can't be smaller than 1; using 1 (the configuration keeps the values as written)",
    ]);
  });

  it('adjusts loop_wait + 2*retry_timeout > ttl like Patroni instead of refusing it, with Patroni defaults filled in', () => {
    expect(parse(minimal('bootstrap:\n  dcs:\n    ttl: 20\n')).warnings).toEqual([
      'bootstrap.dcs.ttl: violated the rule "loop_wait + 2*retry_timeout <= ttl", where ttl=20: adjusting loop_wait from 10 to 1 and retry_timeout from 10 to 9 (the configuration keeps the values as written)',
    ]);
    expect(parse(minimal('bootstrap:\n  dcs:\n    retry_timeout: 11\n')).warnings).toEqual([
      'bootstrap.dcs.ttl: violated the rule "loop_wait + 2*retry_timeout <= ttl", where ttl=30 and retry_timeout=11: adjusting loop_wait from 10 to 8 (the configuration keeps the values as written)',
    ]);
    // Keel allows a ttl below Patroni's 20 when the rule holds
    const fast = parse(minimal('bootstrap:\n  dcs:\n    ttl: 10\n    loop_wait: 2\n    retry_timeout: 4\n'));
    expect(fast.config.bootstrap.dcs).toMatchObject({ ttl: 10, loop_wait: 2, retry_timeout: 4 });
    expect(fast.warnings).toEqual([]);
  });

  it('reports missing required keys', () => {
    const { list } = problems('restapi: {}\netcd3: {}\n');
    expect(list).toEqual([
      'scope: required',
      'name: required',
      'restapi.listen: required',
      'etcd3.hosts: required (or etcd3.host, or etcd3.url)',
      'postgresql.listen: required',
      'postgresql.data_dir: required',
      'postgresql.authentication.superuser.username: required',
      'postgresql.authentication.replication.username: required',
    ]);
    expect(problems(minimal().replace('etcd3:\n  hosts: 10.0.0.9:2379\n', '')).list).toEqual([
      'etcd3: required (or zookeeper): Keel keeps the cluster state in etcd (v3 API) or ZooKeeper',
    ]);
  });

  it('refuses the etcd v2 section', () => {
    const text = minimal().replace('etcd3:', 'etcd:');
    expect(problems(text).list).toEqual(['etcd: Keel supports etcd3 only; rename etcd: to etcd3: (keys written through the v2 API are not visible through v3)']);
  });

  it("reads Patroni's zookeeper section: hosts as a list or a comma string, 2181 by default", () => {
    const zk = (section: string): string => minimal().replace('etcd3:\n  hosts: 10.0.0.9:2379', `zookeeper:\n${section}`);
    const list = parse(zk('  hosts: [z1, "z2:2182"]'));
    expect(list.config.zookeeper).toEqual({ hosts: ['z1:2181', 'z2:2182'] });
    expect(list.config.etcd3).toBeUndefined();
    expect(parse(zk('  hosts: z1:2181,z2, z3:1')).config.zookeeper?.hosts).toEqual(['z1:2181', 'z2:2181', 'z3:1']);
    expect(parse(zk('  hosts: z1'), { PATRONI_ZOOKEEPER_HOSTS: 'e1:3000,e2' }).config.zookeeper?.hosts).toEqual(['e1:3000', 'e2:2181']);
  });

  it('refuses a bad zookeeper section, security settings it cannot honour, and more than one DCS', () => {
    const zk = (section: string): string => minimal().replace('etcd3:\n  hosts: 10.0.0.9:2379', `zookeeper:\n${section}`);
    expect(problems(zk('  hosts: []')).list).toEqual(['zookeeper.hosts: must list at least one host:port']);
    expect(problems(zk('  port: 2181')).list).toEqual([
      'zookeeper.port: unknown key',
      'zookeeper.hosts: required: the ZooKeeper servers as a list or a comma separated string of host:port',
    ]);
    expect(problems(zk('  hosts: "z1:99999"')).list[0]).toMatch(/^zookeeper\.hosts: .*port.*got "z1:99999"/);
    expect(problems(zk('  hosts: zk://z1:2181')).list[0]).toMatch(/^zookeeper\.hosts: expected host:port \(no scheme/);
    expect(problems(zk('  hosts: z1\n  use_ssl: true')).list).toEqual([
      'zookeeper.use_ssl: TLS to ZooKeeper is not implemented: Keel would talk to it in plain text; remove use_ssl or use etcd3 with https',
    ]);
    expect(problems(zk('  hosts: z1\n  set_acls: {CN=x: [ALL]}')).list[0]).toMatch(/^zookeeper\.set_acls: znode ACLs are not implemented/);
    expect(problems(`${minimal()}zookeeper:\n  hosts: z1\n`).list).toEqual([
      'etcd3, zookeeper: exactly one DCS section is allowed, found 2: keep one of etcd3 or zookeeper',
    ]);
  });

  it('reports a listen without a port', () => {
    expect(problems(withLine('listen: 10.0.0.1:5432', 'listen: "5432"')).list).toEqual(['postgresql.listen: expected host:port, got "5432"']);
    expect(problems(withLine('listen: 10.0.0.1:5432', 'listen: 5432')).list).toEqual(['postgresql.listen: expected host:port, got "5432"']);
    expect(problems(withLine('listen: 10.0.0.1:8008', 'listen: "10.0.0.1:"')).list).toEqual([
      'restapi.listen: expected host:port, the port is missing, got "10.0.0.1:"',
    ]);
    expect(problems(withLine('listen: 10.0.0.1:8008', 'listen: 10.0.0.1:99999')).list).toEqual([
      'restapi.listen: expected host:port with a port between 1 and 65535, got "10.0.0.1:99999"',
    ]);
  });

  it('requires an absolute data_dir and refuses reserved initdb options', () => {
    expect(problems(minimal().replace('/var/lib/postgresql/15/main', 'pgdata')).list).toEqual([
      'postgresql.data_dir: must be an absolute path, got "pgdata"',
    ]);
    expect(problems(minimal('bootstrap:\n  initdb: [data-checksums, {pgdata: /x}, [1]]\n')).list).toEqual([
      'bootstrap.initdb[1]: option "pgdata" is not allowed (Keel sets it itself)',
      'bootstrap.initdb[2]: expected an option name or a single "option: value" mapping, got a list',
    ]);
  });

  it('checks the values of dynamic keys it passes through', () => {
    expect(problems(minimal('bootstrap:\n  dcs:\n    synchronous_mode: 5\n    max_timelines_history: many\n')).list).toEqual([
      'bootstrap.dcs.synchronous_mode: expected on, off or quorum, got 5',
      'bootstrap.dcs.max_timelines_history: Invalid input: expected number, received string',
    ]);
  });

  it('takes bootstrap.initdb in map form too, like Patroni', () => {
    const { config } = parse(minimal('bootstrap:\n  initdb: {encoding: UTF8, data-checksums: true, locale: ""}\n'));
    expect(config.bootstrap.initdb_args).toEqual(['--encoding=UTF8', '--data-checksums']);
  });

  it('reports every problem at once, one per line', () => {
    const text = `scope: demo
name: n1
restapi:
  lisen: 10.0.0.1:8008
etcd:
  hosts: 10.0.0.9:2379
bootstrap:
  dcs:
    ttl: 20
postgresql:
  listen: "5432"
  data_dir: relative/dir
  authentication:
    superuser: {username: postgres, password: 12345}
    replication: {username: replicator}
log:
  level: verbose
watchdog:
  mode: sometimes
`;
    const { list, message } = problems(text);
    expect(list).toEqual([
      'etcd: Keel supports etcd3 only; rename etcd: to etcd3: (keys written through the v2 API are not visible through v3)',
      'restapi.lisen: unknown key (did you mean "listen"?)',
      'restapi.listen: required',
      'postgresql.listen: expected host:port, got "5432"',
      'postgresql.data_dir: must be an absolute path, got "relative/dir"',
      'postgresql.authentication.superuser.password: expected a string',
      'log.level: expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got "verbose"',
      'watchdog.mode: expected off, automatic or required, got "sometimes"',
    ]);
    expect(message.split('\n').slice(1)).toEqual(list);
    expect(message).not.toContain('12345');
  });
});

describe('Patroni keys Keel does not implement yet', () => {
  it('accepts them with a warning naming each', () => {
    const text = minimal('citus: {group: 0, database: citus}\nkubernetes: {labels: {app: x}}\n')
      .replace('  data_dir:', '  create_replica_methods: [basebackup]\n  basebackup: [{max-rate: 100M}]\n  data_dir:')
      + `bootstrap:
  method: initdb
  dcs:
    synchronous_node_count: 1
    failsafe_mode: false
    slots: {}
    ignore_slots: []
    max_timelines_history: 5
    postgresql:
      parameters_replica: {work_mem: 4MB}
log:
  traceback_level: DEBUG
`;
    const { config, warnings } = parse(text);
    expect(warnings).toEqual([
      'citus: accepted but not implemented by Keel yet; ignored',
      'kubernetes: accepted but not implemented by Keel yet; ignored',
      'bootstrap.dcs.max_timelines_history: accepted but not implemented by Keel yet; ignored',
      'bootstrap.dcs.postgresql.parameters_replica: accepted but not implemented by Keel yet; ignored',
      'postgresql.basebackup: accepted but not implemented by Keel yet; ignored',
      'log.traceback_level: accepted but not implemented by Keel yet; ignored',
    ]);
    // kept for the DCS /config key, like Patroni writes it
    expect(config.bootstrap.dcs).toMatchObject({ failsafe_mode: false, synchronous_node_count: 1, max_timelines_history: 5 });
  });

  // Fail closed: a setting that changes what the cluster does is refused until Keel implements it.
  const refused: Array<[string, string, string]> = [
    ['a standby_cluster with a bad port', 'bootstrap:\n  dcs:\n    standby_cluster: {host: 1.2.3.4, port: 0}\n',
      'bootstrap.dcs.standby_cluster.port: expected a port number from 1 to 65535, got 0'],
    ['failsafe_mode that is not a boolean', 'bootstrap:\n  dcs:\n    failsafe_mode: sometimes\n',
      'bootstrap.dcs.failsafe_mode: expected true or false, got "sometimes"'],
    ['a logical slot without a plugin', 'bootstrap:\n  dcs:\n    slots: {s1: {type: logical, database: postgres}}\n',
      'bootstrap.dcs.slots.s1.plugin: required: a logical slot needs an output plugin (e.g. pgoutput, test_decoding)'],
    ['an ignore_slots matcher with an unknown key', 'bootstrap:\n  dcs:\n    ignore_slots: [{nmae: x}]\n',
      'bootstrap.dcs.ignore_slots[0].nmae: unknown key (an ignore_slots matcher has name, type, database and plugin)'],
    ['maximum_lag_on_syncnode that is not a number', 'bootstrap:\n  dcs:\n    maximum_lag_on_syncnode: far\n',
      'bootstrap.dcs.maximum_lag_on_syncnode: expected an integer, got "far"'],
  ];
  it.each(refused)('refuses %s at start-up, naming the key', (_key, yaml, problem) => {
    expect(problems(minimal(yaml)).list).toEqual([problem]);
  });

  it('accepts synchronous_mode: quorum and maximum_lag_on_syncnode (bytes, or a string of digits as Patroni parses it)', () => {
    const { config } = parse(minimal('bootstrap:\n  dcs:\n    synchronous_mode: quorum\n    maximum_lag_on_syncnode: "1048576"\n'));
    expect(config.bootstrap.dcs).toMatchObject({ synchronous_mode: 'quorum', maximum_lag_on_syncnode: 1048576 });
  });

  it('accepts the values that mean off: failsafe_mode false, empty slots, maximum_lag_on_syncnode -1, bootstrap.method initdb', () => {
    const { config } = parse(minimal('bootstrap:\n  method: initdb\n  dcs:\n    failsafe_mode: "off"\n    slots: {}\n    ignore_slots: []\n    maximum_lag_on_syncnode: -1\n    standby_cluster: {}\n'));
    expect(config.bootstrap.dcs).toMatchObject({ failsafe_mode: false, maximum_lag_on_syncnode: -1 });
  });

  it('warns about settings Patroni itself ignores where they are', () => {
    const text = minimal('ttl: 30\n').replace('  data_dir:', '  use_slots: true\n  parameters: {max_connections: 200, port: 5433, work_mem: 8MB}\n  data_dir:');
    const { config, warnings } = parse(text);
    expect(warnings).toEqual([
      'ttl: a dynamic setting, ignored at the top level (as in Patroni); put it under bootstrap.dcs',
      'postgresql.use_slots: only the dynamic configuration (bootstrap.dcs.postgresql.use_slots) sets this; ignored here (as in Patroni)',
      'postgresql.parameters.max_connections: only taken from the dynamic configuration (bootstrap.dcs.postgresql.parameters); ignored here (as in Patroni)',
      'postgresql.parameters.port: ignored: Keel derives it from postgresql.listen and scope (as Patroni does)',
    ]);
    expect(config.postgresql.parameters).toEqual({ work_mem: '8MB' });
  });

  it('warns about deprecated bootstrap.users', () => {
    const { warnings } = parse(minimal('bootstrap:\n  users:\n    admin: {password: x, options: [createdb]}\n'));
    expect(warnings).toEqual(['bootstrap.users: deprecated in Patroni (removed in 4.0) and not implemented by Keel; ignored']);
  });

  it('treats postgresql.parameters, tags and authentication maps as free-form', () => {
    const text = minimal('tags:\n  zone: eu-1\n  rack: 7\n  nofailover: false\n').replace(
      '    replication: {username: replicator, password: s3cr3t-repl}',
      '    replication: {username: replicator, password: s3cr3t-repl, sslmode: verify-full, sslrootcert: /ca.pem}\n  parameters: {shared_preload_libraries: pg_stat_statements, "auto_explain.log_min_duration": 100}',
    );
    const { config, warnings } = parse(text);
    expect(warnings).toEqual([]);
    expect(config.tags).toEqual({ zone: 'eu-1', rack: 7, nofailover: false });
    expect(config.postgresql.authentication.replication).toEqual({
      username: 'replicator',
      password: 's3cr3t-repl',
      sslmode: 'verify-full',
      sslrootcert: '/ca.pem',
    });
    expect(config.postgresql.parameters['auto_explain.log_min_duration']).toBe(100);
  });

  it('warns when nofailover conflicts with failover_priority (nofailover wins)', () => {
    const { config, warnings } = parse(minimal('tags: {nofailover: true, failover_priority: 2}\n'));
    expect(warnings).toEqual(['tags: nofailover: true conflicts with failover_priority: 2; nofailover wins']);
    expect(config.tags).toEqual({ nofailover: true, failover_priority: 2 });
  });
});

describe('watchdog.mode', () => {
  it.each([
    ['off', 'off'],
    ['false', 'off'],
    ['"off"', 'off'],
    ['disabled', 'off'],
    ['automatic', 'automatic'],
    ['auto', 'automatic'],
    ['required', 'required'],
    ['Required', 'required'],
  ])('mode: %s → %s', (yaml, mode) => {
    expect(parse(minimal(`watchdog:\n  mode: ${yaml}\n`)).config.watchdog.mode).toBe(mode);
  });

  it('refuses on/true (Patroni would silently disable the watchdog)', () => {
    expect(problems(minimal('watchdog:\n  mode: on\n')).list).toEqual(['watchdog.mode: expected off, automatic or required, got true']);
  });

  it('takes driver: default (the Linux device) without a warning and refuses any other driver', () => {
    expect(parse(minimal('watchdog:\n  driver: default\n')).warnings).toEqual([]);
    expect(problems(minimal('watchdog:\n  driver: testing\n')).list).toEqual(['watchdog.driver: Keel drives the Linux watchdog device only: expected default, got "testing"']);
  });
});

describe('environment overrides', () => {
  const env = {
    PATRONI_NAME: 'from-env',
    PATRONI_SCOPE: 'env-scope',
    PATRONI_NAMESPACE: 'ns',
    PATRONI_RESTAPI_LISTEN: '10.1.1.1:9008',
    PATRONI_RESTAPI_CONNECT_ADDRESS: 'node.example:9008',
    PATRONI_ETCD3_HOSTS: "'e1:2379','e2:2379'",
    PATRONI_POSTGRESQL_LISTEN: '0.0.0.0:6432',
    PATRONI_POSTGRESQL_CONNECT_ADDRESS: '10.1.1.1:6432',
    PATRONI_POSTGRESQL_DATA_DIR: '/data/pg',
    PATRONI_SUPERUSER_USERNAME: 'su',
    PATRONI_SUPERUSER_PASSWORD: 'env-super-pw',
    PATRONI_REPLICATION_USERNAME: 'rep',
    PATRONI_REPLICATION_PASSWORD: 'env-repl-pw',
    PATRONI_LOGLEVEL: 'debug',
  };

  it('win over the file', () => {
    const { config } = parse(minimal().replace('etcd3:\n  hosts: 10.0.0.9:2379', 'etcd3:\n  url: http://old:2379'), env);
    expect(config.name).toBe('from-env');
    expect(config.scope).toBe('env-scope');
    expect(config.namespace).toBe('/ns/');
    expect(config.restapi.listen).toEqual({ host: '10.1.1.1', port: 9008 });
    expect(config.restapi.connect_address).toEqual({ host: 'node.example', port: 9008 });
    expect(config.etcd3?.hosts).toEqual(['e1:2379', 'e2:2379']);
    expect(config.postgresql.listen.port).toBe(6432);
    expect(config.postgresql.connect_address).toEqual({ host: '10.1.1.1', port: 6432 });
    expect(config.postgresql.data_dir).toBe('/data/pg');
    expect(config.postgresql.authentication.superuser).toEqual({ username: 'su', password: 'env-super-pw' });
    expect(config.postgresql.authentication.replication).toEqual({ username: 'rep', password: 'env-repl-pw' });
    expect(config.log.level).toBe('DEBUG');
  });

  it('can supply what the file lacks, and ignores empty variables', () => {
    const { config } = parse('name: file-name\n', { ...env, PATRONI_NAME: '', PATRONI_SCOPE: 'only-env' });
    expect(config.name).toBe('file-name');
    expect(config.scope).toBe('only-env');
    expect(config.restapi.listen.port).toBe(9008);
  });

  it('names the variable a bad value came from', () => {
    expect(problems(minimal(), { PATRONI_POSTGRESQL_LISTEN: '5432' }).list).toEqual([
      'postgresql.listen: expected host:port, got "5432" (set by PATRONI_POSTGRESQL_LISTEN)',
    ]);
    expect(problems(minimal(), { PATRONI_ETCD3_HOSTS: 'e1:2379,e2:x' }).list).toEqual([
      'etcd3.hosts[1]: expected host:port with a port between 1 and 65535, got "e2:x" (set by PATRONI_ETCD3_HOSTS)',
    ]);
  });
});

describe('secrets', () => {
  const secrets = ['s3cr3t-super', 's3cr3t-repl', 'cp-token-xyz', 'etcd-pw', 'api-pw', '424242'];

  it('never appear in errors', () => {
    const text = minimal('controlplane:\n  url: http://cp:3000\n  token: [cp-token-xyz]\n')
      .replace('  hosts: 10.0.0.9:2379', '  hosts: 10.0.0.9:2379\n  password: {etcd-pw: 1}')
      .replace('  listen: 10.0.0.1:8008', '  listen: 10.0.0.1:8008\n  authentication: {username: admin, password: 424242}')
      .replace('password: s3cr3t-super', 'password: s3cr3t-super, pasword: s3cr3t-super')
      .replace('password: s3cr3t-repl}', 'password: [s3cr3t-repl]}');
    const { message, list } = problems(text);
    for (const s of secrets) expect(message).not.toContain(s);
    expect(list).toContain('postgresql.authentication.replication.password: expected a string');
    expect(list).toContain('restapi.authentication.password: expected a string');
    expect(list).toContain('controlplane.token: expected a string');
    expect(list).toContain('etcd3.password: expected a string');
  });

  it('never appear in warnings', () => {
    const text = minimal('bootstrap:\n  users:\n    admin: {password: s3cr3t-super}\n').replace(
      '{username: postgres, password: s3cr3t-super}',
      '{username: postgres, password: s3cr3t-super, sslpassword: "424242", application_name: x}',
    );
    const { warnings } = parse(text);
    expect(warnings.join('\n')).not.toMatch(/s3cr3t|424242/);
    expect(warnings).toContain('postgresql.authentication.superuser.application_name: not a connection parameter Patroni passes to libpq; ignored');
  });

  it('are masked in URLs shown in errors', () => {
    const text = minimal().replace('  hosts: 10.0.0.9:2379', '  url: ftp://user:etcd-pw@host:2379');
    const { message } = problems(text);
    expect(message).toContain('etcd3.url: expected an http or https URL, got "ftp://******@host:2379"');
    expect(message).not.toContain('etcd-pw');
  });

  it('are replaced by redactConfig, which leaves the original alone', () => {
    const text = minimal('controlplane: {url: "http://cp:3000", token: cp-token-xyz}\n').replace(
      '  listen: 10.0.0.1:8008',
      '  listen: 10.0.0.1:8008\n  authentication: {username: admin, password: api-pw}',
    );
    const { config } = parse(text, { PATRONI_ETCD3_USERNAME: 'root', PATRONI_ETCD3_PASSWORD: 'etcd-pw' });
    const red = redactConfig(config);
    const json = JSON.stringify(red);
    for (const s of secrets) expect(json).not.toContain(s);
    expect(red.postgresql.authentication.superuser).toEqual({ username: 'postgres', password: '******' });
    expect(red.controlplane).toEqual({ url: 'http://cp:3000', token: '******' });
    expect(red.etcd3?.password).toBe('******');
    expect(red.postgresql.pgpass).toBe(config.postgresql.pgpass);
    expect(config.postgresql.authentication.superuser.password).toBe('s3cr3t-super');
  });
});

describe('YAML details', () => {
  it('lets a repeated key take the last value, with a warning (PyYAML does the same, silently)', () => {
    const { config, warnings } = parse(minimal('scope: demo2\n'));
    expect(config.scope).toBe('demo2');
    expect(warnings).toEqual(['scope: duplicate key at line 13, column 1; the last value wins (as in Patroni)']);
  });

  it('accepts an empty file section and reports what is missing', () => {
    expect(problems('').list).toContain('scope: required');
    expect(problems('- a\n- b\n').list[0]).toBe('(root): expected a mapping of settings at the top of the file, got a list');
  });
});

describe('loadConfig', () => {
  it('reports an unreadable file as a ConfigError', () => {
    expect(() => loadConfig('/nonexistent/keel.yml', {})).toThrow(ConfigError);
    expect(() => loadConfig('/nonexistent/keel.yml', {})).toThrow(/cannot read the configuration file \(ENOENT\)/);
  });

  it('names the file in the error', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'keel-config-'));
    const file = path.join(dir, 'bad.yml');
    writeFileSync(file, minimal('bogus: 1\n'));
    expect(() => loadConfig(file, {})).toThrow(`${file}: invalid configuration (1 problem):\nbogus: unknown key`);
  });
});

describe('validateDynamicConfig (for PATCH /config)', () => {
  it('applies the same rules without a prefix', () => {
    expect(validateDynamicConfig({ ttl: 15 }).errors).toEqual([]);
    expect(validateDynamicConfig({ ttl: 15 }).warnings).toEqual([
      'ttl: violated the rule "loop_wait + 2*retry_timeout <= ttl", where ttl=15: adjusting loop_wait from 10 to 1 and retry_timeout from 10 to 7 (the configuration keeps the values as written)',
    ]);
    const ok = validateDynamicConfig({ ttl: '20', loop_wait: 5, retry_timeout: 5, synchronous_mode: 'on', postgresql: { parameters: { max_connections: 101 } } });
    expect(ok.errors).toEqual([]);
    expect(ok.config).toEqual({ ttl: 20, loop_wait: 5, retry_timeout: 5, synchronous_mode: 'on', postgresql: { parameters: { max_connections: 101 } } });
    expect(validateDynamicConfig({ failsafe_mode: 'yes' })).toMatchObject({ errors: [], config: { failsafe_mode: true } });
    expect(validateDynamicConfig({ failsafe_mode: 2 }).errors).toEqual(['failsafe_mode: expected true or false, got 2']);
  });
});

describe('security settings (fail closed)', () => {
  const rest = (lines: string) => withLine('  listen: 10.0.0.1:8008', `  listen: 10.0.0.1:8008\n${lines}`);

  it('serves https and publishes an https api_url when restapi.certfile is set', () => {
    const { config, warnings } = parse(
      rest('  certfile: /etc/keel/rest.pem\n  keyfile: /etc/keel/rest.key\n  keyfile_password: pw-123\n  cafile: /etc/keel/ca.pem\n  verify_client: required\n  allowlist: [10.0.0.0/8, 127.0.0.1, db1.example.com]\n  allowlist_include_members: true\n  https_extra_headers: {Strict-Transport-Security: max-age=31536000}'),
    );
    expect(warnings).toEqual([]);
    expect(config.restapi).toMatchObject({
      api_url: 'https://10.0.0.1:8008/patroni',
      certfile: '/etc/keel/rest.pem',
      keyfile: '/etc/keel/rest.key',
      cafile: '/etc/keel/ca.pem',
      verify_client: 'required',
      allowlist: ['10.0.0.0/8', '127.0.0.1', 'db1.example.com'],
      allowlist_include_members: true,
      https_extra_headers: { 'Strict-Transport-Security': 'max-age=31536000' },
    });
  });

  it('refuses security settings it could only ignore', () => {
    const { list } = problems(rest('  keyfile: /k.pem\n  cafile: /ca.pem\n  verify_client: optional'));
    expect(list).toEqual([
      'restapi.keyfile: has no effect without restapi.certfile (the REST API would serve plain http): set certfile or remove it',
      'restapi.cafile: has no effect without restapi.certfile (the REST API would serve plain http): set certfile or remove it',
      'restapi.verify_client: optional needs TLS: set restapi.certfile, keyfile and cafile',
    ]);
    expect(problems(rest('  certfile: /c.pem\n  verify_client: required')).list).toEqual([
      'restapi.verify_client: required needs restapi.cafile (the CA that signs the client certificates)',
    ]);
    expect(problems(rest('  certfile: /c.pem\n  cafile: /ca.pem\n  verify_client: sometimes')).list).toEqual([
      'restapi.verify_client: expected none, optional or required, got "sometimes"',
    ]);
    expect(problems(rest('  allowlist: [10.0.0.0/33, "bad host!"]')).list).toEqual([
      'restapi.allowlist[0]: expected an IP address, a network like 10.0.0.0/8 or a host name, got "10.0.0.0/33"',
      'restapi.allowlist[1]: expected an IP address, a network like 10.0.0.0/8 or a host name, got "bad host!"',
    ]);
    expect(problems(withLine('  hosts: 10.0.0.9:2379', '  hosts: 10.0.0.9:2379\n  cacert: /ca.pem')).list).toEqual([
      'etcd3.cacert: is set but etcd is reached over plain http: set etcd3.protocol: https (or https:// urls), or remove it',
    ]);
    expect(problems(minimal('ctl: {insecure: true, cacert: /ca.pem, keyfile: /k.pem}\n')).list).toEqual([
      'ctl.keyfile: has no effect without ctl.certfile: set certfile or remove it',
      'ctl.insecure: contradicts ctl.cacert (insecure skips the verification cacert is for): remove one',
    ]);
  });

  it('reads the ctl section and the PATRONI_ variables for TLS', () => {
    const { config } = parse(minimal('ctl:\n  authentication: {username: admin, password: pw}\n  certfile: /c.pem\n  keyfile: /k.pem\n  cacert: /ca.pem\n'), {
      PATRONI_RESTAPI_CERTFILE: '/r.pem',
      PATRONI_RESTAPI_CAFILE: '/rca.pem',
      PATRONI_RESTAPI_VERIFY_CLIENT: 'optional',
      PATRONI_RESTAPI_ALLOWLIST: '10.1.0.0/16,10.2.0.1',
      PATRONI_RESTAPI_ALLOWLIST_INCLUDE_MEMBERS: 'true',
      PATRONI_CTL_INSECURE: 'false',
    });
    expect(config.ctl).toEqual({ authentication: { username: 'admin', password: 'pw' }, insecure: false, certfile: '/c.pem', keyfile: '/k.pem', cacert: '/ca.pem' });
    expect(config.restapi).toMatchObject({ certfile: '/r.pem', cafile: '/rca.pem', verify_client: 'optional', allowlist: ['10.1.0.0/16', '10.2.0.1'], allowlist_include_members: true });
  });
});
