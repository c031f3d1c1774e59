/** What the signed-in user may do where (the UI hides the rest; the server checks everything again). */
import { hasRole, type TRole } from '../../server/lib/roles.ts';

export interface TMe {
  id: string;
  email: string;
  role: TRole;
  clusterRoles: Record<string, TRole>;
}

export function roleOn(me: TMe | null | undefined, scope: string): TRole {
  return me?.clusterRoles[scope] ?? me?.role ?? 'viewer';
}

export function can(me: TMe | null | undefined, scope: string, required: TRole): boolean {
  return me ? hasRole(roleOn(me, scope), required) : false;
}
