'use client';
/**
 * Failover readiness: who would be promoted if the leader died now, why not the others, the expected
 * failover time and the bytes at risk, with their basis; and a what-if ("member X dies"). Computed by
 * the control plane (server/lib/failover-readiness.ts, ha-core's ranking over every member's latest
 * report); the page recomputes it live from the same function.
 */
import { useQuery } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { useTRPC } from '../lib/trpc.ts';
import type { TClusterHealth } from '../server/lib/cluster-health.ts';
import type { TEstimate, TReadiness } from '../server/lib/failover-readiness.ts';
import { formatBytes } from './format.ts';

function range(e: TEstimate): string {
  return `${e.minSeconds}–${e.maxSeconds} s`;
}

function rpoText(r: TReadiness): string {
  if (!r.rpo) return '–';
  return r.rpo.bytes === null ? 'unknown' : formatBytes(r.rpo.bytes);
}

/** One line for the clusters list and the key facts. */
export function FailoverReadiness({ health, compact }: { health: TClusterHealth; compact?: boolean }) {
  const r = health.readiness;
  if (health.membersTotal <= 1) return <span className="muted">Single member</span>;
  const why = [...r.blockers, ...r.members.filter((m) => !m.eligible).map((m) => `${m.name}: ${m.reasons.join(', ')}`)];
  if (r.candidate !== null) {
    return (
      <span data-testid="readiness-compact" data-candidate={r.candidate}>
        <span className="badge ok">Ready</span>
        <span className="sub">
          {r.candidate} would be promoted{r.tiesWith.length ? ` (or ${r.tiesWith.join(', ')})` : ''}
        </span>
        {r.rto && r.rpo ? (
          <span className="sub" title={`${r.rto.nodeDeath.basis}\n${r.rpo.basis}`}>
            RTO {range(r.rto.nodeDeath)} · RPO {rpoText(r)}
          </span>
        ) : null}
        {compact && r.warnings.length ? (
          <span className="sub warn" title={r.warnings.join('\n')}>
            {r.warnings[0]}
          </span>
        ) : null}
      </span>
    );
  }
  return (
    <span data-testid="readiness-compact" data-candidate="">
      <span className="badge bad">No candidate</span>
      {compact ? (
        <span className="sub" title={why.join('\n')}>
          {why[0] ?? 'no replica'}
          {why.length > 1 ? ` (+${why.length - 1})` : ''}
        </span>
      ) : (
        why.map((t) => (
          <span className="sub" key={t}>
            {t}
          </span>
        ))
      )}
    </span>
  );
}

function Outcome({ r }: { r: TReadiness }) {
  return (
    <dl className="readiness-outcome">
      <dt>Promoted</dt>
      <dd data-testid="readiness-candidate" data-ties={r.tiesWith.join(',')}>{r.candidate ?? <span className="bad">nobody</span>}</dd>
      {r.rto ? (
        <>
          <dt>Failover time (node crash)</dt>
          <dd>
            {range(r.rto.nodeDeath)} <span className="muted small">{r.rto.nodeDeath.basis}</span>
          </dd>
          <dt>Failover time (agent dies, PostgreSQL runs on)</dt>
          <dd>
            {range(r.rto.agentDeath)} <span className="muted small">{r.rto.agentDeath.basis}</span>
          </dd>
        </>
      ) : null}
      {r.rpo ? (
        <>
          <dt>Data at risk</dt>
          <dd>
            {rpoText(r)} <span className="muted small">{r.rpo.basis}</span>
          </dd>
        </>
      ) : null}
      {r.blockers.length ? (
        <>
          <dt>Why nobody</dt>
          <dd className="bad">{r.blockers.join('; ')}</dd>
        </>
      ) : null}
    </dl>
  );
}

function WhatIf({ scope, members }: { scope: string; members: string[] }) {
  const trpc = useTRPC();
  const id = useId();
  const [dies, setDies] = useState('');
  const q = useQuery({ ...trpc.clusters.whatIf.queryOptions({ scope, dies }), enabled: dies !== '' });
  return (
    <div className="what-if">
      <label htmlFor={id}>What if this member dies now?</label>{' '}
      <select id={id} value={dies} onChange={(e) => setDies(e.target.value)}>
        <option value="">choose a member…</option>
        {members.map((m) => (
          <option key={m} value={m}>
            {m}
          </option>
        ))}
      </select>
      {q.error ? (
        <p className="form-error" role="alert">
          {q.error.message}
        </p>
      ) : null}
      {q.data ? (
        <div aria-live="polite">
          <p data-testid="what-if-sentence">{q.data.sentence}</p>
          <Outcome r={q.data.after} />
        </div>
      ) : null}
    </div>
  );
}

/** The full panel on the cluster page. */
export function ReadinessPanel({ scope, health }: { scope: string; health: TClusterHealth }) {
  const r = health.readiness;
  const b = r.basis;
  const names = [...(r.leader ? [r.leader] : []), ...r.members.map((m) => m.name)];
  return (
    <section className="card" aria-labelledby="readiness-title" data-testid="readiness-panel">
      <div className="card-head">
        <h2 id="readiness-title">If {r.leader ?? 'the leader'} died now</h2>
        <span className="muted small">
          ranked by ha-core over every member&apos;s latest report; settings from {b.settingsFrom ?? "Patroni's defaults"}: ttl {b.ttl} s, loop_wait {b.loopWait} s,
          maximum_lag_on_failover {formatBytes(b.maximumLagOnFailover)}
          {b.quorum
            ? `, synchronous_mode: quorum (/sync: ${b.quorum.voters.join(', ') || 'no voters'}, quorum ${b.quorum.quorum})`
            : b.synchronousMode
              ? `, synchronous_mode (/sync: ${b.syncStandbys?.join(', ') || 'none'})`
              : ''}
        </span>
      </div>
      <Outcome r={r} />
      {r.warnings.map((w) => (
        <p className="warn small" key={w}>
          {w}
        </p>
      ))}
      <div className="table-wrap">
        <table className="stack" aria-label="Failover candidates">
          <thead>
            <tr>
              <th scope="col">Member</th>
              <th scope="col">Eligible</th>
              <th scope="col">Behind leader</th>
              <th scope="col">Priority</th>
              <th scope="col">Why not</th>
            </tr>
          </thead>
          <tbody>
            {r.members.map((m) => (
              <tr key={m.name} data-member={m.name}>
                <th scope="row" data-label="Member">
                  {m.name}
                </th>
                <td data-label="Eligible">{m.eligible ? <span className="badge ok">yes</span> : <span className="badge bad">no</span>}</td>
                <td data-label="Behind leader">{formatBytes(m.lagBytes)}</td>
                <td data-label="Priority">{m.priority}</td>
                <td data-label="Why not">{m.reasons.join('; ') || <span className="muted">–</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <WhatIf scope={scope} members={names} />
    </section>
  );
}
