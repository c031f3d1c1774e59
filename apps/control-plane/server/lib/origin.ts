/**
 * CSRF defence for cookie-authenticated mutations outside better-auth (tRPC): a browser always
 * sends Origin on a cross-origin or non-GET fetch, so a mutating request that carries cookies must
 * come from one of our own origins: the one the request was addressed to (Host), or
 * KEEL_CP_PUBLIC_URL. Requests without cookies carry no ambient authority and pass.
 */
export interface TOriginCheck {
  method: string;
  origin: string | undefined;
  host: string | undefined;
  /** Sec-Fetch-Site, when the browser sent it. */
  fetchSite: string | undefined;
  hasCookies: boolean;
  /** http or https: how the request reached us (X-Forwarded-Proto when a proxy is trusted). */
  protocol: 'http' | 'https';
  publicUrl: string | undefined;
}

export function trustedOrigins(host: string | undefined, protocol: 'http' | 'https', publicUrl: string | undefined): string[] {
  const list: string[] = [];
  if (publicUrl) list.push(new URL(publicUrl).origin);
  if (host) list.push(`${protocol}://${host}`.toLowerCase());
  return list;
}

/** null when the request may proceed, else why it is refused. */
export function checkOrigin(c: TOriginCheck): string | null {
  if (['GET', 'HEAD', 'OPTIONS'].includes(c.method.toUpperCase())) return null;
  if (!c.hasCookies) return null;
  if (c.fetchSite && c.fetchSite !== 'same-origin' && c.fetchSite !== 'none') return `cross-site request refused (Sec-Fetch-Site: ${c.fetchSite})`;
  if (!c.origin || c.origin === 'null') return 'missing Origin header on a cookie-authenticated request';
  const allowed = trustedOrigins(c.host, c.protocol, c.publicUrl);
  if (!allowed.includes(c.origin.toLowerCase())) return `origin ${c.origin} is not allowed`;
  return null;
}
