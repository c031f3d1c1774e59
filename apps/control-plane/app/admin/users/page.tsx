'use client';
/** Users: list with roles, create (password policy enforced by the server), change a role. Admins only. */
import { AdminFrame } from '../../../components/admin/admin-frame.tsx';
import { UsersAdmin } from '../../../components/admin/users-admin.tsx';

export default function AdminUsersPage() {
  return (
    <AdminFrame section="users">
      <UsersAdmin />
    </AdminFrame>
  );
}
