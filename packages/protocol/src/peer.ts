import { z } from 'zod';
import { ZPendingRestartReason, ZTags } from './dcs-values.ts';

/**
 * A `failover` request the leader refused and removed, published by the leader (GET /patroni
 * keel.failover_outcomes) under the request's DCS mod revision, so the service that wrote the request
 * reports exactly this refusal, never a later tick's reason.
 */
export const ZFailoverOutcome = z.object({ revision: z.number().int().positive(), outcome: z.string(), at: z.string() });
export type TFailoverOutcome = z.infer<typeof ZFailoverOutcome>;

/**
 * What an agent reads from another member's GET /patroni (peers, switchover checks): every field
 * it uses, with its type, so a forged or broken answer is refused as a whole instead of steering
 * a decision with values of the wrong type. Unknown fields pass (Patroni adds fields over time).
 */
export const ZPeerStatus = z
  .object({
    state: z.string().max(64).optional(),
    role: z.string().max(64).optional(),
    xlog: z
      .object({
        location: z.number().nonnegative().optional(),
        received_location: z.number().nonnegative().optional(),
        replayed_location: z.number().nonnegative().optional(),
      })
      .catchall(z.unknown())
      .optional(),
    timeline: z.number().int().positive().optional(),
    /** A replica's WAL receiver ('streaming' or not): a member still streaming from the leader says it lives. */
    replication_state: z.string().max(64).optional(),
    tags: ZTags.optional(),
    pending_restart_reason: ZPendingRestartReason.optional(),
    keel: z
      .object({
        reason: z.string().optional(),
        last_failure: z.object({ action: z.string(), error: z.string(), at: z.string() }).optional(),
        failover_outcomes: z.array(ZFailoverOutcome).optional().catch(undefined),
      })
      .catchall(z.unknown())
      .optional(),
  })
  .catchall(z.unknown());
export type TPeerStatus = z.infer<typeof ZPeerStatus>;

export type ApiUrlCheck = { ok: true; url: URL } | { ok: false; reason: string };

/**
 * A member's api_url (from its DCS key) before anyone connects to it: http or https, to a host, without
 * credentials in it. Anyone who can write etcd can write this value; this keeps it from pointing agents
 * and keelctl at other schemes (file:, ftp:, data:) or from smuggling a userinfo part.
 */
export function checkApiUrl(value: unknown): ApiUrlCheck {
  if (typeof value !== 'string' || value === '') return { ok: false, reason: 'api_url is missing or not a string' };
  if (value.length > 2048) return { ok: false, reason: 'api_url is longer than 2048 characters' };
  if (/[\s\x00-\x1f\x7f]/.test(value)) return { ok: false, reason: 'api_url contains spaces or control characters' };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { ok: false, reason: `api_url is not a URL: ${JSON.stringify(value.slice(0, 200))}` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { ok: false, reason: `api_url must be http or https, not ${JSON.stringify(url.protocol.replace(/:$/, ''))}` };
  }
  if (url.username !== '' || url.password !== '') return { ok: false, reason: 'api_url must not carry a user name or password' };
  if (url.hostname === '') return { ok: false, reason: 'api_url names no host' };
  return { ok: true, url };
}

/** "http://h:8008/patroni" + "/switchover" -> "http://h:8008/switchover" (Patroni replaces the path). */
export function apiEndpoint(url: URL, endpoint: string): string {
  return `${url.protocol}//${url.host}/${endpoint.replace(/^\/+/, '')}`;
}
