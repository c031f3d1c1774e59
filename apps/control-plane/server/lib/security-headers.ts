/**
 * Security headers for every HTTP response (server/http.ts sets them before any handler runs).
 *
 * Pages get a Content-Security-Policy with a fresh nonce per request: Next.js reads the nonce from
 * the request's own Content-Security-Policy header and puts it on the scripts it renders (so pages
 * render per request; app/layout.tsx puts it on the theme script). No 'unsafe-inline' scripts, no
 * eval outside development. Styles: stylesheets from 'self', plus inline style attributes (React
 * and the charts set them), but no inline <style> elements without the nonce.
 * API responses get the strictest policy (they are JSON, never rendered).
 */
import { randomBytes } from 'node:crypto';

/** The request header through which server/http.ts hands the nonce to the page (app/layout.tsx). */
export const NONCE_HEADER = 'x-keel-nonce';

export function newNonce(): string {
  return randomBytes(18).toString('base64');
}

export interface TPagePolicy {
  nonce: string;
  /** Development mode: React's dev tools need eval and the HMR socket. */
  dev: boolean;
  /** Served over https (or the public URL is): ask browsers to upgrade any stray http sub-resource. */
  https: boolean;
}

export function pagePolicy(p: TPagePolicy): string {
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${p.nonce}'${p.dev ? " 'unsafe-eval'" : ''}`,
    `style-src 'self' 'nonce-${p.nonce}'`,
    "style-src-attr 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    // the live feed and tRPC: same origin ('self' covers ws/wss to this host)
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    ...(p.https ? ['upgrade-insecure-requests'] : []),
  ].join('; ');
}

/** For JSON and anything else that is not a page. */
export const API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

export const HSTS = 'max-age=31536000';

/** The headers every response carries (the CSP is added per response kind). */
export function commonSecurityHeaders(o: { hsts: boolean }): Record<string, string> {
  return {
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'same-origin',
    // for browsers that predate frame-ancestors
    'x-frame-options': 'DENY',
    'cross-origin-opener-policy': 'same-origin',
    'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=(), usb=()',
    ...(o.hsts ? { 'strict-transport-security': HSTS } : {}),
  };
}
