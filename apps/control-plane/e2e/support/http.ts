/** Talking to the control plane from Node like a browser would: sign in (cookie) and tRPC with Origin. */
import { createTRPCClient, httpLink } from '@trpc/client';
import type { AppRouter } from '../../server/routers/_app.ts';

/** Sign in through better-auth; returns the session cookie header. Throws unless 200. */
export async function signInCookie(url: string, email: string, password: string): Promise<string> {
  const res = await fetch(`${url}/api/auth/sign-in/email`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: url },
    body: JSON.stringify({ email, password }),
  });
  if (!res.ok) throw new Error(`sign-in as ${email} answered ${res.status}: ${await res.text()}`);
  const cookies = res.headers.getSetCookie().map((c) => c.split(';')[0]);
  if (cookies.length === 0) throw new Error('sign-in set no cookie');
  return cookies.join('; ');
}

export function adminTrpc(url: string, cookie: string | null) {
  return createTRPCClient<AppRouter>({
    links: [httpLink({ url: `${url}/api/trpc`, headers: () => ({ ...(cookie ? { cookie } : {}), origin: url }) })],
  });
}
