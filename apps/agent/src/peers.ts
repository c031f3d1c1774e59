/**
 * This agent's calls to other members' REST APIs (GET /patroni while racing, switching over or
 * ordering a restart). The address comes from the member key in etcd, so it is checked before use
 * (checkApiUrl: http or https to a host, no credentials), and the answer is parsed with the protocol
 * schema before anything reads it. https is verified with ctl.cacert / restapi.cafile, and the
 * client certificate (ctl.certfile, else restapi.certfile) is presented, as Patroni does.
 */

import http from 'node:http';
import https from 'node:https';
import { checkApiUrl, ZPeerStatus, type TPeerStatus } from '@keel/protocol';
import type { ClientTls } from './tls.ts';

export type PeerAnswer = { ok: true; body: TPeerStatus } | { ok: false; reason: string };

/** Largest /patroni body read from a peer (a real one is a few kB). */
const MAX_BODY_BYTES = 256 * 1024;

/** An answer: its status and its body, read whole (at most MAX_BODY_BYTES). */
interface Answer {
  statusCode: number;
  text: string;
}

/**
 * On Node's own http/https (already loaded for the REST API and etcd): undici held ~3 MiB of an idle
 * agent's memory for calls that only happen during a failover, a switchover or a restart.
 */
export class PeerClient {
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;
  /** Bad api_url values already logged, so a bad key is reported once, not every tick. */
  private readonly reported = new Set<string>();

  constructor(
    tls: ClientTls,
    private readonly warn: (fields: Record<string, unknown>, message: string) => void,
  ) {
    const pool = { keepAlive: true, maxSockets: 4, maxFreeSockets: 4 };
    this.httpAgent = new http.Agent(pool);
    this.httpsAgent = new https.Agent({
      ...pool,
      rejectUnauthorized: tls.rejectUnauthorized,
      ...(tls.ca ? { ca: tls.ca } : {}),
      ...(tls.cert ? { cert: tls.cert } : {}),
      ...(tls.key ? { key: tls.key } : {}),
      ...(tls.passphrase !== undefined ? { passphrase: tls.passphrase } : {}),
    });
  }

  /** GET url, the whole answer within timeoutMs; rejects with an error that has a code. */
  private get(url: URL, timeoutMs: number): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const secure = url.protocol === 'https:';
      const req = (secure ? https : http).get(url, { agent: secure ? this.httpsAgent : this.httpAgent }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY_BYTES) req.destroy(Object.assign(new Error(`the answer is larger than ${MAX_BODY_BYTES} bytes`), { code: 'TOO_LARGE' }));
          else chunks.push(c);
        });
        res.on('error', fail);
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ statusCode: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
        });
      });
      const timer = setTimeout(() => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'TIMEOUT' })), timeoutMs);
      function fail(err: Error) {
        clearTimeout(timer);
        reject(err);
      }
      req.on('error', fail);
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
      const res = await this.get(checked.url, timeoutMs);
      const text = res.text;
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

  close(): Promise<void> {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
    return Promise.resolve();
  }
}
