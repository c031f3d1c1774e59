import type { Metadata, Viewport } from 'next';
import { headers } from 'next/headers';
import type { ReactNode } from 'react';
import { Providers } from '../components/providers.tsx';
import { THEME_SCRIPT } from '../components/theme-script.ts';
import { ZOD_JITLESS_SCRIPT } from '../lib/zod-jitless.ts';
import { NONCE_HEADER } from '../server/lib/security-headers.ts';
import './globals.css';

export const metadata: Metadata = { title: { default: 'Keel', template: '%s · Keel' }, description: 'PostgreSQL high availability: the control plane' };

export const viewport: Viewport = {
  width: 'device-width',
  initialScale: 1,
  themeColor: [
    { media: '(prefers-color-scheme: light)', color: '#f7f7f5' },
    { media: '(prefers-color-scheme: dark)', color: '#121211' },
  ],
};

export default async function RootLayout({ children }: { children: ReactNode }) {
  // the Content-Security-Policy nonce of this request (server/http.ts); reading it renders pages
  // per request, so that Next can put the nonce on its own scripts too
  const nonce = (await headers()).get(NONCE_HEADER) ?? undefined;
  return (
    // data-theme is set before hydration by THEME_SCRIPT
    <html lang="en" suppressHydrationWarning>
      <head>
        <script nonce={nonce} suppressHydrationWarning dangerouslySetInnerHTML={{ __html: THEME_SCRIPT }} />
        <script nonce={nonce} suppressHydrationWarning dangerouslySetInnerHTML={{ __html: ZOD_JITLESS_SCRIPT }} />
      </head>
      <body>
        <Providers>{children}</Providers>
      </body>
    </html>
  );
}
