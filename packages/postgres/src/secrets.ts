/**
 * Password verifiers computed on our side, so that CREATE/ALTER ROLE never carries a plain-text
 * password to the server (where log_statement, pg_stat_activity or pg_stat_statements could show it).
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

/** PostgreSQL's SCRAM-SHA-256 verifier: SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>. */
export function scramSha256Verifier(password: string, salt: Buffer = randomBytes(16), iterations = 4096): string {
  const salted = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/** PostgreSQL's md5 verifier: "md5" + md5(password || username). */
export function md5Verifier(username: string, password: string): string {
  return 'md5' + createHash('md5').update(password + username, 'utf8').digest('hex');
}

/**
 * The verifier to send for a password, or null when the password must go in clear text (non-ASCII:
 * the server applies SASLprep before hashing, which we do not reproduce).
 */
export function passwordVerifier(username: string, password: string, encryption: string | undefined): string | null {
  if (!/^[\x20-\x7e]*$/.test(password)) return null;
  if ((encryption ?? '').toLowerCase() === 'md5') return md5Verifier(username, password);
  return scramSha256Verifier(password);
}
