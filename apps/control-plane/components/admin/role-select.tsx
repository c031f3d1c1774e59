'use client';
/** The role picker of the admin pages, and what each role adds (the record keeps the list complete). */
import type { TRole } from './types.ts';

export const ROLE_HELP: Record<TRole, string> = {
  viewer: 'sees the clusters, their members, lag and history',
  operator: 'what a viewer may, and requests operations',
  approver: 'what an operator may, and approves, rejects and reviews operations',
  admin: 'everything, and manages agent tokens, users, policies and the audit log',
};
export const ROLES = Object.keys(ROLE_HELP) as TRole[];

export function RoleSelect({ id, value, onChange, label }: { id?: string; value: TRole; onChange: (r: TRole) => void; label?: string }) {
  return (
    <select id={id} aria-label={label} value={value} onChange={(e) => onChange(e.target.value as TRole)}>
      {ROLES.map((r) => (
        <option key={r} value={r}>
          {r}
        </option>
      ))}
    </select>
  );
}
