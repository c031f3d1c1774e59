/**
 * Patroni's etcd v3 key layout under /<namespace>/<scope>/ (see shared/reference/patroni.md §1.2).
 * namespace "/service/", "service" and "/service" all give the base "/service/<scope>/".
 */
export interface DcsKeys {
  base: string;
  initialize: string;
  config: string;
  leader: string;
  membersPrefix: string;
  member(name: string): string;
  history: string;
  status: string;
  failover: string;
  sync: string;
  failsafe: string;
}

export function dcsKeys(namespace: string, scope: string): DcsKeys {
  const ns = namespace.replace(/^\/+|\/+$/g, '');
  const base = ns ? `/${ns}/${scope}/` : `/${scope}/`;
  return {
    base,
    initialize: `${base}initialize`,
    config: `${base}config`,
    leader: `${base}leader`,
    membersPrefix: `${base}members/`,
    member: (name: string) => `${base}members/${name}`,
    history: `${base}history`,
    status: `${base}status`,
    failover: `${base}failover`,
    sync: `${base}sync`,
    failsafe: `${base}failsafe`,
  };
}

/** Patroni's slot_name_from_member_name: lower case, anything outside [a-z0-9_] becomes "_". */
export function slotNameForMember(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_')
    .slice(0, 63);
}
