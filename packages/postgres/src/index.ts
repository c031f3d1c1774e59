export { Postgres } from './postgres.ts';
export type { RewindResult, SyncSlotsResult } from './postgres.ts';
export type { SlotOps, SlotStateCopy } from './slots.ts';
export * from './types.ts';
export {
  BASE_CONF_NAME,
  adaptParametersToVersion,
  gucNameProblem,
  gucValueProblem,
  MANAGED_HEADER,
  buildConninfo,
  buildInitdbArgs,
  escapePgpassField,
  historyFileName,
  parseBasebackupProgress,
  parseControlData,
  parseTimelineHistory,
  primaryConninfo,
  quoteConninfoValue,
  quoteGucValue,
  renderPgHba,
  renderPgpass,
  renderPostgresqlConf,
  timelineOfWalFile,
} from './conf.ts';
export type { PostgresqlConfInput } from './conf.ts';
export { md5Verifier, passwordVerifier, scramSha256Verifier } from './secrets.ts';
