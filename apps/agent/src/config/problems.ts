/**
 * Problem collection for the configuration loader: every error and warning names the key path and the reason,
 * and never the value of a secret.
 */

/** Thrown by loadConfig/parseConfig. `problems` holds one line per problem; `message` lists them all. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly problems: readonly string[];
  readonly sourceName: string;

  constructor(sourceName: string, problems: readonly string[]) {
    const n = problems.length;
    super(`${sourceName}: invalid configuration (${n} problem${n === 1 ? '' : 's'}):\n${problems.join('\n')}`);
    this.problems = problems;
    this.sourceName = sourceName;
  }
}

/** Key names whose values are secrets, wherever they appear. */
const SECRET_KEY = /(^|_)(password|passphrase)$|^sslpassword$|token$|secret/i;

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

export function isSecretPath(path: string): boolean {
  const last = path.split('.').pop() ?? path;
  return isSecretKey(last.replace(/\[\d+\]$/, ''));
}

/** A short description of a value for an error message: strings quoted and cut, URL credentials masked. */
export function show(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (typeof value === 'string') {
    const masked = value.replace(/(\/\/)[^/@\s]*@/g, '$1******@');
    const cut = masked.length > 80 ? `${masked.slice(0, 77)}...` : masked;
    return JSON.stringify(cut);
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value instanceof Date) return 'a timestamp';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}

/** ", got <value>" unless the path holds a secret. */
export function got(path: string, value: unknown): string {
  return isSecretPath(path) ? '' : `, got ${show(value)}`;
}

export function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/** Collects errors and warnings; appends "(set by ENV_VAR)" to problems about values that came from the environment. */
export class Problems {
  readonly errors: string[] = [];
  readonly warnings: string[] = [];
  /** The errors again, with the key path apart from the reason (for callers that act per key). */
  readonly items: Array<{ path: string; reason: string }> = [];

  constructor(private readonly origins: ReadonlyMap<string, string> = new Map()) {}

  error(path: string, reason: string): void {
    const line = `${path || '(root)'}: ${reason}${this.origin(path)}`;
    if (!this.errors.includes(line)) {
      this.errors.push(line);
      this.items.push({ path, reason });
    }
  }

  warn(path: string, message: string): void {
    const line = `${path || '(root)'}: ${message}`;
    if (!this.warnings.includes(line)) this.warnings.push(line);
  }

  private origin(path: string): string {
    const env = this.origins.get(path) ?? this.origins.get(path.replace(/\[\d+\]$/, ''));
    return env ? ` (set by ${env})` : '';
  }
}

/** Optimal-string-alignment distance: Levenshtein plus adjacent transpositions ("lopo_wait"). */
export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  const d: number[][] = Array.from({ length: m + 1 }, (_, i) => Array.from({ length: n + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= m; i++) {
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const row = d[i]!;
      const prev = d[i - 1]!;
      let v = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      row[j] = v;
    }
  }
  return d[m]![n]!;
}

/** The closest candidate to a mistyped key, if it is close enough to be a plausible typo. */
export function suggest(key: string, candidates: Iterable<string>): string | undefined {
  const k = key.toLowerCase();
  const limit = k.length <= 4 ? 1 : k.length <= 8 ? 2 : 3;
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const cl = c.toLowerCase();
    let dist = editDistance(k, cl);
    // "data_directory" for "data_dir", "conect" for "connect_address": a long shared prefix is a good hint too
    if (dist > limit && Math.min(k.length, cl.length) >= 4 && (cl.startsWith(k) || k.startsWith(cl))) dist = limit;
    if (dist <= limit && dist < bestD) {
      best = c;
      bestD = dist;
    }
  }
  return best;
}
