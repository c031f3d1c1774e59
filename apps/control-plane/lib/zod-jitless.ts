/**
 * zod 4 probes `new Function('')` when it defines its first object schema, to decide whether to
 * compile fast parsers; under the pages' Content-Security-Policy (no 'unsafe-eval', see
 * server/lib/security-headers.ts) that probe is a CSP violation. zod reads its configuration from
 * globalThis.__zod_globalConfig, so app/layout.tsx runs this inline (with the CSP nonce) before any
 * bundle loads: the browser interprets schemas and never probes.
 */
export const ZOD_JITLESS_SCRIPT = 'globalThis.__zod_globalConfig=Object.assign(globalThis.__zod_globalConfig||{},{jitless:true})';
