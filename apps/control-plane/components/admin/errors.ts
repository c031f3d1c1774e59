/**
 * tRPC errors as forms show them: input problems next to their field (the server's own words, from
 * `data.zodError`), anything else once, above the form.
 */

/** What the forms need of a tRPC client error (the router's error shape adds `zodError`). */
export interface TClientErrorLike {
  message: string;
  data?: { code?: string; zodError?: ReadonlyArray<{ path: string; message: string }> | null } | null;
}

export interface TFormErrors<F extends string> {
  form: string | null;
  fields: Partial<Record<F, string>>;
}

/** "the password must be…" -> "The password must be…." */
export function sentence(s: string): string {
  const t = s.trim();
  if (!t) return t;
  const first = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?…]$/.test(first) ? first : `${first}.`;
}

export function formErrors<F extends string>(e: TClientErrorLike | null | undefined, fields: readonly F[]): TFormErrors<F> {
  const out: TFormErrors<F> = { form: null, fields: {} };
  if (!e) return out;
  const issues = e.data?.zodError;
  if (issues && issues.length > 0) {
    const rest: string[] = [];
    for (const i of issues) {
      const f = fields.find((x) => x === i.path);
      if (f && !out.fields[f]) out.fields[f] = sentence(i.message);
      else if (!f) rest.push(i.path ? `${i.path}: ${i.message}` : i.message);
    }
    out.form = rest.length ? sentence(rest.join('; ')) : null;
    return out;
  }
  out.form = errorText(e);
  return out;
}

/** One sentence for an error that is not about a field. */
export function errorText(e: TClientErrorLike): string {
  if (!e.data) {
    // no tRPC answer at all: the network, or a proxy in between
    return /fetch|network/i.test(e.message) ? 'The control plane did not answer. Try again in a moment.' : sentence(e.message);
  }
  return sentence(e.message);
}
