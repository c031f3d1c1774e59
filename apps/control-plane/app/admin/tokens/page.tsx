'use client';
/** Agent tokens: list, create (the token is shown once, with the agent's YAML), revoke. Admins only. */
import { AdminFrame } from '../../../components/admin/admin-frame.tsx';
import { TokensAdmin } from '../../../components/admin/tokens-admin.tsx';

export default function AdminTokensPage() {
  return (
    <AdminFrame section="tokens">
      <TokensAdmin />
    </AdminFrame>
  );
}
