export * from './ports.ts';
export * from './wait.ts';
export * from './etcd.ts';
export * from './proxy.ts';
export * from './cluster.ts';
export * from './controlplane.ts';
export * from './workload.ts';
export * from './processes.ts';
