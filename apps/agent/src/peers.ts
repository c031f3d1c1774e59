/**
 * This agent's calls to other members' REST APIs (GET /patroni while racing, switching over or
 * ordering a restart). The address comes from the member key in etcd, so it is checked before use
 * (checkApiUrl: http or https to a host, no credentials), and the answer is parsed with the protocol
 * schema before anything reads it. https is verified with ctl.cacert / restapi.cafile, and the
 * client certificate (ctl.certfile, else restapi.certfile) is presented, as Patroni does.
 */

import { Agent, request } from 'undici';
import { checkApiUrl, ZPeerStatus, type TFailsafeRequest, type TPeerStatus } from '@keel/protocol';
import type { ClientTls } from './tls.ts';

export type PeerAnswer = { ok: true; body: TPeerStatus } | { ok: false; reason: string };

/** Largest /patroni body read from a peer (a real one is a few kB). */
const MAX_BODY_BYTES = 256 * 1024;

export class PeerClient {
  private readonly dispatcher: Agent;
  /** Bad api_url values already logged, so a bad key is reported once, not every tick. */
  private readonly reported = new Set<string>();

  constructor(
    tls: ClientTls,
    private readonly warn: (fields: Record<string, unknown>, message: string) => void,
  ) {
    this.dispatcher = new Agent({
      connect: {
        rejectUnauthorized: tls.rejectUnauthorized,
        ...(tls.ca ? { ca: tls.ca } : {}),
        ...(tls.cert ? { cert: tls.cert } : {}),
        ...(tls.key ? { key: tls.key } : {}),
        ...(tls.passphrase !== undefined ? { passphrase: tls.passphrase } : {}),
      },
      connections: 4,
      maxResponseSize: MAX_BODY_BYTES,
    });
  }

  /** GET <api_url> (its /patroni) within timeoutMs. Never throws. */
  async status(member: string, apiUrl: unknown, timeoutMs: number): Promise<PeerAnswer> {
    const checked = checkApiUrl(apiUrl);
    if (!checked.ok) {
      const key = `${member}\u0000${String(apiUrl)}`;
      if (!this.reported.has(key)) {
        this.reported.add(key);
        this.warn({ member, reason: checked.reason }, `ignoring the api_url of member ${member}: ${checked.reason}`);
      }
      return { ok: false, reason: checked.reason };
    }
    try {
      const res = await request(checked.url, {
        method: 'GET',
        dispatcher: this.dispatcher,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await res.body.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        return { ok: false, reason: `${member} answered ${res.statusCode} with a body that is not JSON` };
      }
      const parsed = ZPeerStatus.safeParse(json);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        return { ok: false, reason: `${member} answered with an unexpected body (${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid'})` };
      }
      return { ok: true, body: parsed.data };
    } catch (e) {
      const err = e as Error & { code?: string };
      return { ok: false, reason: `${member} unreachable (${err.code ?? err.name}: ${err.message})` };
    }
  }

  /**
   * POST <api_url host>/failsafe within timeoutMs (failsafe_mode; see failsafe.ts), with basic auth
   * when given (ctl.authentication, else restapi.authentication, as Patroni). Accepted only on 200 with
   * the body "Accepted". Never throws.
   */
  async postFailsafe(
    member: string,
    apiUrl: unknown,
    body: TFailsafeRequest,
    auth: { username: string; password?: string | undefined } | undefined,
    timeoutMs: number,
  ): Promise<{ accepted: boolean; reason: string }> {
    const checked = checkApiUrl(apiUrl);
    if (!checked.ok) return { accepted: false, reason: checked.reason };
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (auth?.username) headers.authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password ?? ''}`).toString('base64')}`;
    try {
      const res = await request(new URL('/failsafe', checked.url), {
        method: 'POST',
        body: JSON.stringify(body),
        headers,
        dispatcher: this.dispatcher,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = (await res.body.text()).slice(0, 200);
      if (res.statusCode === 200 && text === 'Accepted') return { accepted: true, reason: 'Accepted' };
      return { accepted: false, reason: `answered ${res.statusCode} ${JSON.stringify(text)}` };
    } catch (e) {
      const err = e as Error & { code?: string };
      return { accepted: false, reason: `unreachable (${err.code ?? err.name}: ${err.message})` };
    }
  }

  async close(): Promise<void> {
    await this.dispatcher.close().catch(() => undefined);
  }
}
