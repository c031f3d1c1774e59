'use client';
import { AuditView } from '../../components/ops/audit-view.tsx';

export default function AuditPage() {
  return <AuditView />;
}
