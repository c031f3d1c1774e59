/** A standby cluster and the site it follows (or the standby clusters that follow this one), with links. */
import Link from 'next/link';
import type { TClusterLinks } from '../server/lib/standby-links.ts';

const clusterHref = (scope: string) => `/clusters/${encodeURIComponent(scope)}`;

export function StandbyLink({ links }: { links: TClusterLinks | undefined }) {
  if (!links || (links.standbyOf === null && links.followedBy.length === 0)) return null;
  const s = links.standbyOf;
  return (
    <span className="standby-link" aria-label="Standby cluster link">
      {s ? (
        <span>
          Standby cluster: {s.leader} follows {s.follows}
          {s.cluster ? (
            <>
              {' '}
              (<Link href={clusterHref(s.cluster)}>{s.cluster}</Link>
              {s.member ? ` / ${s.member}` : ''})
            </>
          ) : (
            ' (a site this control plane does not know)'
          )}
        </span>
      ) : null}
      {links.followedBy.length > 0 ? (
        <span>
          {s ? ' · ' : ''}Followed by standby cluster{links.followedBy.length > 1 ? 's' : ''}{' '}
          {links.followedBy.map((scope, i) => (
            <span key={scope}>
              {i > 0 ? ', ' : ''}
              <Link href={clusterHref(scope)}>{scope}</Link>
            </span>
          ))}
        </span>
      ) : null}
    </span>
  );
}
