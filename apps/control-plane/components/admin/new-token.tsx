'use client';
/**
 * A token just created: shown this once (only its hash is stored), with a copy button and the lines
 * for the agents' YAML. It stays on screen until the admin says it is saved.
 */
import { useId, useMemo } from 'react';
import { CopyButton } from './copy-button.tsx';
import type { TCreatedToken } from './types.ts';

/** The agent's YAML section; the token's characters ([A-Za-z0-9_-]) need no quoting. */
export function agentConfigYaml(origin: string, token: string): string {
  return `controlplane:\n  url: ${origin}\n  token: ${token}\n`;
}

export function NewToken({ created, origin, onDone }: { created: TCreatedToken; origin: string; onDone: () => void }) {
  const titleId = useId();
  const tokenId = useId();
  const yaml = useMemo(() => agentConfigYaml(origin, created.token), [origin, created.token]);
  return (
    <section className="card admin-secret" aria-labelledby={titleId}>
      <div className="card-head">
        <h2 id={titleId}>
          New token for {created.members.join(', ')} of {created.scope}
        </h2>
        <span className="badge warn">Shown once</span>
      </div>
      <p>
        Copy it now: <strong>this is the only time it is shown.</strong> The control plane keeps only its hash. If it is lost, create
        another token and revoke this one.
      </p>
      <div className="field">
        <label htmlFor={tokenId}>Token</label>
        <div className="copy-row">
          <input id={tokenId} className="mono" readOnly value={created.token} spellCheck={false} autoComplete="off" onFocus={(e) => e.currentTarget.select()} />
          <CopyButton text={created.token} label="Copy token" />
        </div>
      </div>
      <figure className="field">
        <figcaption className="label">Agent configuration</figcaption>
        <pre className="snippet" tabIndex={0}>
          <code>{yaml}</code>
        </pre>
        <p className="hint">
          Add this to the YAML of {created.members.length === 1 ? 'the agent' : 'each agent'} named <strong>{created.members.join(', ')}</strong> in
          cluster <strong>{created.scope}</strong>; it reports here once it runs with it. Other members need their own token.
        </p>
        <div>
          <CopyButton text={yaml} label="Copy YAML" />
        </div>
      </figure>
      <div className="admin-actions start">
        <button type="button" className="primary" onClick={onDone}>
          Done, I have saved it
        </button>
      </div>
    </section>
  );
}
