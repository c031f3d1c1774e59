/**
 * A small valid keel-agent YAML for config tests. `postgresqlExtra`: lines added to the postgresql:
 * section (written unindented, indented here); `extra`: top-level YAML appended at the end.
 */
export function minimal(extra = '', postgresqlExtra = ''): string {
  const pg = postgresqlExtra ? `${postgresqlExtra.replace(/\n$/, '').replace(/^/gm, '  ')}\n` : '';
  return `scope: demo
name: n1
restapi:
  listen: 10.0.0.1:8008
etcd3:
  hosts: 10.0.0.9:2379
postgresql:
  listen: 10.0.0.1:5432
  data_dir: /var/lib/postgresql/15/main
  authentication:
    superuser: {username: postgres, password: s3cr3t-super}
    replication: {username: replicator, password: s3cr3t-repl}
${pg}${extra}`;
}
