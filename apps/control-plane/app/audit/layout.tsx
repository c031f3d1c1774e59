import type { Metadata } from 'next';
import type { ReactNode } from 'react';
import '../admin/admin.css';
import '../ops.css';

export const metadata: Metadata = { title: 'Audit log' };

export default function AuditLayout({ children }: { children: ReactNode }) {
  return children;
}
