import { z } from 'zod';

/** Roles in increasing order of power: each role may do everything the ones before it may. */
export const ROLES = ['viewer', 'operator', 'approver', 'admin'] as const;
export const ZRole = z.enum(ROLES);
export type TRole = z.infer<typeof ZRole>;

export function roleRank(role: TRole): number {
  return ROLES.indexOf(role);
}

/** Does `role` include the powers of `required`? */
export function hasRole(role: TRole, required: TRole): boolean {
  return roleRank(role) >= roleRank(required);
}
