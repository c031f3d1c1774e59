import type { Metadata } from 'next';
import type { ReactNode } from 'react';
import '../admin/admin.css';
import '../ops.css';
import './incidents.css';

export const metadata: Metadata = { title: 'Incidents' };

export default function IncidentsLayout({ children }: { children: ReactNode }) {
  return children;
}
