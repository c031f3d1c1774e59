export * from './types.ts';
export * from './hosts.ts';
export * from './parse.ts';
export * from './etcd.ts';
export * from './memory.ts';
export * from './zookeeper.ts';
export * from './zk-hosts.ts';
