import type { Metadata } from 'next';
import type { ReactNode } from 'react';
import '../admin/admin.css';
import '../ops.css';

export const metadata: Metadata = { title: 'API tokens' };

export default function ApiTokensLayoutLayout({ children }: { children: ReactNode }) {
  return children;
}
