import type { Metadata } from 'next';
import type { ReactNode } from 'react';

export const metadata: Metadata = { title: 'Agent tokens' };

export default function TokensLayout({ children }: { children: ReactNode }) {
  return children;
}
