'use client';
/** Approval policies: per cluster, per operation type, whether approval is needed and by how many. Admins only. */
import { AdminFrame } from '../../../components/admin/admin-frame.tsx';
import { PoliciesAdmin } from '../../../components/admin/policies-admin.tsx';

export default function AdminPoliciesPage() {
  return (
    <AdminFrame section="policies">
      <PoliciesAdmin />
    </AdminFrame>
  );
}
