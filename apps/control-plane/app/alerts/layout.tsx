import type { Metadata } from 'next';
import type { ReactNode } from 'react';
import '../admin/admin.css';
import '../ops.css';

export const metadata: Metadata = { title: 'Alerts' };

export default function AlertsLayout({ children }: { children: ReactNode }) {
  return children;
}
