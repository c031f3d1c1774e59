/**
 * The deployment files under test, read and parsed once: docker-compose.yml, .env.example,
 * deploy/keel/node*.yml, deploy/haproxy/haproxy.cfg, deploy/prometheus/*, deploy/grafana/*.
 * Shared by the structure tests and the native topology test.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const repoPath = (...p: string[]): string => path.join(REPO, ...p);
export const readRepo = (p: string): string => fs.readFileSync(repoPath(p), 'utf8');

export const NODE_NAMES = ['node1', 'node2', 'node3'] as const;
export const agentConfigPath = (name: string): string => `deploy/keel/${name}.yml`;
export const HAPROXY_CFG = 'deploy/haproxy/haproxy.cfg';
export const PROMETHEUS_YML = 'deploy/prometheus/prometheus.yml';
export const RULES_YML = 'deploy/prometheus/keel-rules.yml';
export const RULES_TEST_YML = 'deploy/prometheus/keel-rules.test.yml';
export const DASHBOARD_JSON = 'deploy/grafana/dashboards/keel.json';
export const DOCKERFILE = 'deploy/docker/Dockerfile';

export type Obj = Record<string, unknown>;

export function readYaml<T = Obj>(p: string): T {
  // merge: docker-compose.yml shares blocks with YAML anchors and `<<` merge keys, as compose does.
  return YAML.parse(readRepo(p), { merge: true }) as T;
}

export interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string; target: string };
  command?: string[];
  restart?: string;
  ports?: string[];
  volumes?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test: string[]; interval?: string; timeout?: string; retries?: number };
  depends_on?: string[] | Record<string, { condition: string }>;
  hostname?: string;
  init?: boolean;
}
export interface Compose {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
}

export const compose = (): Compose => readYaml<Compose>('docker-compose.yml');

/** "127.0.0.1:5000:5000" -> {host: '127.0.0.1', published: 5000, target: 5000}. */
export function parsePort(spec: string): { host: string; published: number; target: number } {
  const m = /^(?:([\d.]+):)?(\d+):(\d+)$/.exec(spec);
  if (!m) throw new Error(`unsupported port syntax: ${spec}`);
  return { host: m[1] ?? '0.0.0.0', published: Number(m[2]), target: Number(m[3]) };
}

/** "node1-data:/var/lib/keel" or "./deploy/x:/etc/x:ro" -> {source, target, bind}. */
export function parseVolume(spec: string): { source: string; target: string; readOnly: boolean; bind: boolean } {
  const [source = '', target = '', mode] = spec.split(':');
  return { source, target, readOnly: mode === 'ro', bind: source.startsWith('.') || source.startsWith('/') };
}

export const dependsOn = (s: ComposeService): string[] =>
  Array.isArray(s.depends_on) ? s.depends_on : Object.keys(s.depends_on ?? {});

/** The KEY=value lines of .env.example, in order. */
export function envExample(): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of readRepo('.env.example').split('\n')) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}

/** `${VAR}`, `${VAR:?msg}`, `${VAR:-default}` in docker-compose.yml, by variable. */
export function composeVariables(): Map<string, { required: boolean }> {
  const out = new Map<string, { required: boolean }>();
  for (const m of readRepo('docker-compose.yml').matchAll(/\$\{([A-Z][A-Z0-9_]*)(:?[?-])?[^}]*\}/g)) {
    const required = (m[2] ?? '').endsWith('?');
    out.set(m[1]!, { required: required || (out.get(m[1]!)?.required ?? false) });
  }
  return out;
}

// ------------------------------------------------------------------------------- HAProxy

export interface HaproxySection {
  kind: string;
  name: string;
  /** Every line of the section, trimmed, without comments. */
  lines: string[];
  binds: string[];
  httpchk: string | null;
  servers: Array<{ name: string; address: string; checkPort: number | null }>;
}

export function parseHaproxy(text: string): HaproxySection[] {
  const sections: HaproxySection[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trimEnd();
    if (!line.trim()) continue;
    if (!/^\s/.test(line)) {
      const [kind = '', name = ''] = line.trim().split(/\s+/);
      sections.push({ kind, name, lines: [], binds: [], httpchk: null, servers: [] });
      continue;
    }
    const s = sections[sections.length - 1];
    if (!s) throw new Error(`haproxy.cfg: a setting before any section: ${line}`);
    const t = line.trim();
    s.lines.push(t);
    const w = t.split(/\s+/);
    if (w[0] === 'bind') s.binds.push(w[1]!);
    if (w[0] === 'option' && w[1] === 'httpchk') s.httpchk = w.slice(2).join(' ');
    if (w[0] === 'server') {
      const i = w.indexOf('port');
      s.servers.push({ name: w[1]!, address: w[2]!, checkPort: w.includes('check') && i > 0 ? Number(w[i + 1]) : null });
    }
  }
  return sections;
}

export function haproxySection(sections: HaproxySection[], name: string): HaproxySection {
  const s = sections.find((x) => x.name === name);
  if (!s) throw new Error(`haproxy.cfg has no section ${name}`);
  return s;
}

// ------------------------------------------------------------------------------- PromQL

/**
 * The metric names a PromQL expression reads. Good enough for our expressions: identifiers that
 * are not inside {...} label matchers or strings, not followed by "(" (functions and
 * aggregations), not PromQL keywords, and not inside by/on/without/ignoring/group_* label lists.
 */
export function metricNames(expr: string): string[] {
  const keywords = new Set([
    ...['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset'],
    ...['sum', 'min', 'max', 'avg', 'count', 'group', 'stddev', 'stdvar', 'topk', 'bottomk', 'quantile', 'count_values'],
  ]);
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '$1')
    .replace(/\[[^\]]*\]/g, '');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/(?<![A-Za-z0-9_:])[A-Za-z_:][A-Za-z0-9_:]*(?![A-Za-z0-9_:]|\s*\()/g)) {
    const id = m[0];
    const before = stripped[m.index - 1];
    if (before && /[0-9.]/.test(before)) continue; // 1e3, 2.5
    if (keywords.has(id)) continue;
    names.add(id);
  }
  return [...names];
}

export interface RuleFile {
  groups: Array<{ name: string; rules: Array<{ alert?: string; record?: string; expr: string; for?: string; labels?: Obj; annotations?: Obj }> }>;
}
export const rules = (): RuleFile => readYaml<RuleFile>(RULES_YML);

export interface Dashboard {
  uid: string;
  title: string;
  templating: { list: Array<{ name: string; datasource: { uid: string }; query: { query: string } }> };
  panels: Array<{ id: number; title: string; type: string; datasource: { type: string; uid: string }; targets: Array<{ expr: string; datasource: { uid: string } }> }>;
}
export const dashboard = (): Dashboard => JSON.parse(readRepo(DASHBOARD_JSON)) as Dashboard;

/** Every PromQL expression of the dashboard, with $scope replaced by `scope`. */
export function dashboardExprs(d: Dashboard, scope = '.*'): Array<{ panel: string; expr: string }> {
  return d.panels.flatMap((p) => p.targets.map((t) => ({ panel: p.title, expr: t.expr.replaceAll('$scope', scope) })));
}
