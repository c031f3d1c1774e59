/** Signing in over HTTP and calling tRPC as that user, like a browser would (cookie + Origin). */
import { createTRPCClient, httpLink } from '@trpc/client';
import type { AppRouter } from '../../server/routers/_app.ts';

export async function signIn(url: string, email: string, password: string): Promise<{ status: number; cookie: string | null; body: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(`${url}/api/auth/sign-in/email`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: url },
    body: JSON.stringify({ email, password }),
  });
  const setCookies = res.headers.getSetCookie();
  const cookie = setCookies.length ? setCookies.map((c) => c.split(';')[0]).join('; ') : null;
  return { status: res.status, cookie, body: (await res.json().catch(() => ({}))) as Record<string, unknown>, headers: res.headers };
}

export function trpcAs(url: string, cookie: string | null, origin: string | null = url) {
  return createTRPCClient<AppRouter>({
    links: [
      httpLink({
        url: `${url}/api/trpc`,
        headers: () => ({ ...(cookie ? { cookie } : {}), ...(origin ? { origin } : {}) }),
      }),
    ],
  });
}
