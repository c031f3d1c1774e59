/** The rules for passwords set through the CLI or by an admin. Returns why a password is refused, or null. */
const COMMON = new Set([
  'password', 'password1', 'password123', '123456789012', 'qwertyuiopas', 'letmeinletmein', 'administrator',
  'changemechangeme', 'welcome12345', 'iloveyou1234', 'postgresql123', 'postgres1234', 'keelkeelkeel',
]);

export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 128;

export function checkPassword(password: string, email?: string): string | null {
  if (password.length < MIN_PASSWORD_LENGTH) return `the password must be at least ${MIN_PASSWORD_LENGTH} characters long`;
  if (password.length > MAX_PASSWORD_LENGTH) return `the password must be at most ${MAX_PASSWORD_LENGTH} characters long`;
  const lower = password.toLowerCase();
  if (COMMON.has(lower)) return 'the password is too common';
  if (new Set(password).size < 5) return 'the password repeats too few different characters';
  const local = email?.split('@')[0]?.toLowerCase();
  if (local && local.length >= 4 && lower.includes(local)) return 'the password must not contain the e-mail name';
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((re) => re.test(password)).length;
  if (password.length < 16 && classes < 3) {
    return 'the password needs 3 of: lower case, upper case, digits, symbols (or at least 16 characters)';
  }
  return null;
}
