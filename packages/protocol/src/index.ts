export * from './lsn.ts';
export * from './dcs-keys.ts';
export * from './dcs-values.ts';
export * from './member-status.ts';
export * from './agent-messages.ts';
export * from './ops.ts';
export * from './peer.ts';
export * from './backup.ts';
