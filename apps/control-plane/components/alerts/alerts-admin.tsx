'use client';
/** Channels (admins: create, enable/disable, delete; secrets go in once and never come back) and rule thresholds. */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { useTRPC } from '../../lib/trpc.ts';

type TKind = 'webhook' | 'pagerduty' | 'slack';

export function ChannelsAdmin() {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const list = useQuery(trpc.alerts.channels.queryOptions());
  const refresh = () => qc.invalidateQueries({ queryKey: trpc.alerts.channels.queryKey() });
  const create = useMutation(trpc.alerts.createChannel.mutationOptions({ onSuccess: () => void refresh() }));
  const toggle = useMutation(trpc.alerts.setChannelEnabled.mutationOptions({ onSuccess: () => void refresh() }));
  const remove = useMutation(trpc.alerts.deleteChannel.mutationOptions({ onSuccess: () => void refresh() }));
  const [kind, setKind] = useState<TKind>('webhook');
  const [name, setName] = useState('');
  const [url, setUrl] = useState('');
  const [secret, setSecret] = useState('');

  function submit(e: FormEvent) {
    e.preventDefault();
    const input =
      kind === 'webhook' ? { kind, name, url, secret } : kind === 'pagerduty' ? { kind, name, routingKey: secret, ...(url ? { url } : {}) } : { kind, name, url };
    create.mutate(input, { onSuccess: () => { setName(''); setUrl(''); setSecret(''); } });
  }

  return (
    <section className="card" aria-labelledby="channels-title">
      <div className="card-head">
        <h2 id="channels-title">Channels</h2>
        <span className="muted small">URLs, secrets and routing keys are stored encrypted and never shown again</span>
      </div>
      <div className="table-wrap">
        <table className="stack" aria-label="Channels">
          <thead><tr><th scope="col">Name</th><th scope="col">Kind</th><th scope="col">Target</th><th scope="col">Enabled</th><th scope="col" /></tr></thead>
          <tbody>
            {(list.data ?? []).map((c) => (
              <tr key={c.id}>
                <th scope="row" data-label="Name">{c.name}</th>
                <td data-label="Kind">{c.kind}</td>
                <td data-label="Target">{c.target}</td>
                <td data-label="Enabled">
                  <input type="checkbox" aria-label={`${c.name} enabled`} checked={c.enabled} onChange={(e) => toggle.mutate({ id: c.id, enabled: e.target.checked })} />
                </td>
                <td><button type="button" className="secondary" onClick={() => { if (window.confirm(`Delete channel ${c.name}?`)) remove.mutate({ id: c.id }); }}>Delete</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <form onSubmit={submit} aria-label="New channel" className="admin-fields">
        <div className="field">
          <label htmlFor="ch-kind">Kind</label>
          <select id="ch-kind" value={kind} onChange={(e) => setKind(e.target.value as TKind)}>
            <option value="webhook">Webhook (JSON, HMAC-SHA256 signed)</option>
            <option value="pagerduty">PagerDuty (Events API v2)</option>
            <option value="slack">Slack (incoming webhook)</option>
          </select>
        </div>
        <div className="field"><label htmlFor="ch-name">Name</label><input id="ch-name" required value={name} onChange={(e) => setName(e.target.value)} /></div>
        <div className="field">
          <label htmlFor="ch-url">URL{kind === 'pagerduty' ? ' (default: events.pagerduty.com)' : ''}</label>
          <input id="ch-url" type="url" required={kind !== 'pagerduty'} value={url} onChange={(e) => setUrl(e.target.value)} autoComplete="off" />
        </div>
        {kind !== 'slack' ? (
          <div className="field">
            <label htmlFor="ch-secret">{kind === 'webhook' ? 'Signing secret (≥ 16 characters)' : 'Routing key'}</label>
            <input id="ch-secret" type="password" required value={secret} onChange={(e) => setSecret(e.target.value)} autoComplete="new-password" />
          </div>
        ) : null}
        <div className="field"><button type="submit" disabled={create.isPending}>Add channel</button></div>
      </form>
      {create.error ? <p className="form-error" role="alert">{create.error.message}</p> : null}
    </section>
  );
}

export function RulesSettings({ editable }: { editable: boolean }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const rules = useQuery(trpc.alerts.rules.queryOptions());
  const save = useMutation(trpc.alerts.setRule.mutationOptions({ onSuccess: () => void qc.invalidateQueries({ queryKey: trpc.alerts.rules.queryKey() }) }));
  const [drafts, setDrafts] = useState<Record<string, string>>({});
  const [bad, setBad] = useState<string | null>(null);
  return (
    <section className="card" aria-labelledby="rules-title">
      <div className="card-head"><h2 id="rules-title">Rules</h2></div>
      <div className="table-wrap">
        <table className="stack" aria-label="Rules">
          <thead><tr><th scope="col">Rule</th><th scope="col">On</th><th scope="col">Parameters</th><th scope="col">Defaults</th></tr></thead>
          <tbody>
            {(rules.data ?? []).map((r) => {
              const draft = drafts[r.rule] ?? JSON.stringify(r.params);
              return (
                <tr key={r.rule}>
                  <th scope="row" data-label="Rule">{r.title}<span className="sub muted">{r.rule}</span></th>
                  <td data-label="On">
                    <input type="checkbox" aria-label={`${r.rule} enabled`} disabled={!editable} checked={r.enabled} onChange={(e) => save.mutate({ rule: r.rule, enabled: e.target.checked, params: r.params })} />
                  </td>
                  <td data-label="Parameters">
                    {editable ? (
                      <form
                        onSubmit={(e) => {
                          e.preventDefault();
                          try {
                            setBad(null);
                            save.mutate({ rule: r.rule, enabled: r.enabled, params: JSON.parse(draft) as Record<string, unknown> });
                          } catch {
                            setBad(`${r.rule}: the parameters are not JSON`);
                          }
                        }}
                      >
                        <input aria-label={`${r.rule} parameters`} value={draft} onChange={(e) => setDrafts({ ...drafts, [r.rule]: e.target.value })} />{' '}
                        <button type="submit" className="secondary">Save</button>
                      </form>
                    ) : (
                      <code>{JSON.stringify(r.params)}</code>
                    )}
                  </td>
                  <td data-label="Defaults"><code className="small">{JSON.stringify(r.defaults)}</code></td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {bad ? <p className="form-error" role="alert">{bad}</p> : null}
      {save.error ? <p className="form-error" role="alert">{save.error.message}</p> : null}
    </section>
  );
}
