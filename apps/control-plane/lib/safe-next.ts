/**
 * Where the sign-in page may send the browser afterwards (`?next=`): only a path on this origin.
 * Refused: absolute URLs and schemes (`https://evil`, `javascript:`), protocol-relative `//evil`,
 * `/\evil` (browsers read `\` as `/`), control characters and whitespace (browsers strip tabs and
 * newlines, so `/\t/evil` is `//evil`), and anything that resolves to another origin.
 */
export const AFTER_SIGN_IN = '/clusters';

export function safeNextPath(next: string | null | undefined, origin: string): string {
  if (!next || next.length > 2048) return AFTER_SIGN_IN;
  if (!next.startsWith('/') || /[\\\s\u0000-\u001f\u007f]/.test(next) || next.startsWith('//')) return AFTER_SIGN_IN;
  let url: URL;
  try {
    url = new URL(next, origin);
  } catch {
    return AFTER_SIGN_IN;
  }
  if (url.origin !== new URL(origin).origin) return AFTER_SIGN_IN;
  if (url.pathname === '/sign-in' || url.pathname.startsWith('/sign-in/')) return AFTER_SIGN_IN;
  return `${url.pathname}${url.search}${url.hash}`;
}
