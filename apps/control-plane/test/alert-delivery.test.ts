import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildRequest, SIGNATURE_HEADER, signBody, TIMESTAMP_HEADER, verifySignature, type TAlertNotice } from '../server/lib/alerts/payloads.ts';
import { outcomeOf, retryDelayMs } from '../server/lib/alerts/retry.ts';
import { alertKey, open, seal } from '../server/lib/alerts/secret-box.ts';
import { parseServerEnv } from '../server/env.ts';

const notice: TAlertNotice = {
  event: 'trigger',
  deliveryId: '7',
  alert: { id: '42', rule: 'replica_down', cluster: 'main', subject: 'pg1', severity: 'error', summary: 'main: replica pg1 is down', details: { member: 'pg1' }, firedAt: '2026-12-04T03:00:00.000Z', resolvedAt: null },
  baseUrl: 'https://keel.example.com/',
};

describe('alert payloads', () => {
  it('generic webhook: JSON signed with HMAC-SHA256 over "<timestamp>.<body>"', () => {
    const r = buildRequest('webhook', { url: 'https://hooks.example.com/keel', secret: 's3cret-s3cret-s3cret' }, notice, 1_800_000_000);
    expect(r.headers[TIMESTAMP_HEADER]).toBe('1800000000');
    expect(r.headers[SIGNATURE_HEADER]).toBe(signBody('s3cret-s3cret-s3cret', 1_800_000_000, r.body));
    expect(verifySignature('s3cret-s3cret-s3cret', '1800000000', r.body, r.headers[SIGNATURE_HEADER] ?? '', 1_800_000_010)).toBe(true);
    expect(verifySignature('another-secret-xxxx', '1800000000', r.body, r.headers[SIGNATURE_HEADER] ?? '', 1_800_000_010)).toBe(false);
    expect(verifySignature('s3cret-s3cret-s3cret', '1800000000', `${r.body} `, r.headers[SIGNATURE_HEADER] ?? '', 1_800_000_010)).toBe(false);
    // an old signature is refused (replay)
    expect(verifySignature('s3cret-s3cret-s3cret', '1800000000', r.body, r.headers[SIGNATURE_HEADER] ?? '', 1_800_001_000)).toBe(false);
    expect(JSON.parse(r.body)).toEqual({ version: 1, event: 'trigger', delivery: '7', alert: notice.alert, link: 'https://keel.example.com/clusters/main' });
  });

  it('PagerDuty Events v2: trigger with payload, resolve with the same dedup_key', () => {
    const cfg = { url: 'https://events.pagerduty.com/v2/enqueue', routingKey: 'R0UTING' };
    const t = JSON.parse(buildRequest('pagerduty', cfg, notice, 1).body);
    expect(t).toMatchObject({ routing_key: 'R0UTING', event_action: 'trigger', dedup_key: 'keel-alert-42', payload: { summary: 'main: replica pg1 is down', source: 'main/pg1', severity: 'error', class: 'replica_down', group: 'main' } });
    const r = JSON.parse(buildRequest('pagerduty', cfg, { ...notice, event: 'resolve' }, 1).body);
    expect(r).toEqual({ routing_key: 'R0UTING', event_action: 'resolve', dedup_key: 'keel-alert-42' });
  });

  it('Slack: one text line, firing and resolved', () => {
    expect(JSON.parse(buildRequest('slack', { url: 'https://hooks.slack.com/services/T/B/X' }, notice, 1).body)).toEqual({
      text: ':red_circle: *ERROR* replica_down: main: replica pg1 is down <https://keel.example.com/clusters/main|open in Keel>',
    });
    expect(JSON.parse(buildRequest('slack', { url: 'https://hooks.slack.com/services/T/B/X' }, { ...notice, event: 'resolve', baseUrl: null }, 1).body).text).toBe(
      ':white_check_mark: *RESOLVED* replica_down: main: replica pg1 is down',
    );
  });
});

describe('retries', () => {
  it('backs off exponentially up to a cap', () => {
    expect([1, 2, 3, 4, 10, 20].map((n) => retryDelayMs(n))).toEqual([5_000, 10_000, 20_000, 40_000, 600_000, 600_000]);
  });
  it('retries 5xx, 408, 429 and no answer; gives up on other 4xx', () => {
    expect([200, 202, 500, 503, 408, 429, null, 400, 404].map(outcomeOf)).toEqual(['delivered', 'delivered', 'retry', 'retry', 'retry', 'retry', 'retry', 'permanent', 'permanent']);
  });
});

describe('channel secrets at rest', () => {
  it('seal/open round-trips; another key cannot open it', () => {
    const k = randomBytes(32);
    const sealed = seal(k, '{"url":"https://hooks.slack.com/services/T/B/X"}');
    expect(sealed).not.toContain('hooks.slack.com');
    expect(open(k, sealed)).toBe('{"url":"https://hooks.slack.com/services/T/B/X"}');
    expect(() => open(randomBytes(32), sealed)).toThrow();
  });
  it('KEEL_CP_ALERT_KEY of the wrong size is a start-up error; unset derives a key from KEEL_CP_SECRET', () => {
    const base = { DATABASE_URL: 'postgresql://u:p@localhost/db', KEEL_CP_SECRET: 'x'.repeat(40) };
    expect(() => parseServerEnv({ ...base, KEEL_CP_ALERT_KEY: 'tooshort' })).toThrow(/KEEL_CP_ALERT_KEY must be 32 bytes/);
    expect(parseServerEnv({ ...base, KEEL_CP_ALERT_KEY: randomBytes(32).toString('base64') }).KEEL_CP_ALERT_KEY).toBeDefined();
    expect(alertKey(undefined, base.KEEL_CP_SECRET)).toHaveLength(32);
    expect(alertKey('ab'.repeat(32), base.KEEL_CP_SECRET)).toEqual(Buffer.from('ab'.repeat(32), 'hex'));
  });
});
