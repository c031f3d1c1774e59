/** Is there an eligible failover candidate right now? (From the agents' own failoverReadiness.) */
import type { TClusterHealth } from '../server/lib/cluster-health.ts';

export function FailoverReadiness({ health, compact }: { health: TClusterHealth; compact?: boolean }) {
  const r = health.failoverReadiness;
  if (health.membersTotal <= 1) return <span className="muted">Single member</span>;
  if (r.ready) {
    return (
      <span>
        <span className="badge ok">Ready</span>
        <span className="sub">
          {r.candidates.length === 1 ? 'candidate' : 'candidates'}: {r.candidates.join(', ')}
        </span>
      </span>
    );
  }
  const reasons = r.blocked.map((b) => `${b.member}: ${b.reasons.join('; ')}`);
  return (
    <span>
      <span className="badge bad">No candidate</span>
      {compact ? (
        <span className="sub" title={reasons.join('\n')}>
          {reasons[0] ?? 'no replica'}
          {reasons.length > 1 ? ` (+${reasons.length - 1})` : ''}
        </span>
      ) : (
        reasons.map((t) => (
          <span className="sub" key={t}>
            {t}
          </span>
        ))
      )}
    </span>
  );
}
