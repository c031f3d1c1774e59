/**
 * Channel secrets at rest: AES-256-GCM under KEEL_CP_ALERT_KEY (or a key derived from KEEL_CP_SECRET
 * under its own HKDF label when unset). Hashing is not possible here (the server must sign with the
 * secret and send the URL), so they are encrypted; the key never touches the database.
 * Format: v1.<iv base64url>.<tag base64url>.<ciphertext base64url>.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/** 32 bytes from KEEL_CP_ALERT_KEY (base64, base64url or hex), or derived from KEEL_CP_SECRET. Throws on a key of the wrong size. */
export function alertKey(configured: string | undefined, secret: string): Buffer {
  if (configured === undefined) return Buffer.from(hkdfSync('sha256', secret, 'keel-alerts', 'alert channel secrets', 32));
  const key = /^[0-9a-f]{64}$/i.test(configured) ? Buffer.from(configured, 'hex') : Buffer.from(configured, 'base64');
  if (key.length !== 32) throw new Error('KEEL_CP_ALERT_KEY must be 32 bytes, written as 64 hex digits or base64 (e.g. `openssl rand -base64 32`)');
  return key;
}

export function seal(key: Buffer, plaintext: string): string {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  const data = Buffer.concat([c.update(plaintext, 'utf8'), c.final()]);
  return ['v1', iv.toString('base64url'), c.getAuthTag().toString('base64url'), data.toString('base64url')].join('.');
}

/** Throws when the key is not the one that sealed it (or the text was altered). */
export function open(key: Buffer, sealed: string): string {
  const [v, iv, tag, data] = sealed.split('.');
  if (v !== 'v1' || iv === undefined || tag === undefined || data === undefined) throw new Error('not a sealed channel secret');
  const d = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
  d.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([d.update(Buffer.from(data, 'base64url')), d.final()]).toString('utf8');
}
