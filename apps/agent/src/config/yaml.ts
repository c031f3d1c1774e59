/**
 * YAML reading with PyYAML's semantics, because Patroni reads its file with PyYAML (YAML 1.1):
 * on/off/yes/no are booleans (the sample's `watchdog: {mode: off}` is `false`), 0644 is octal, `<<` merges,
 * and a repeated key silently takes the last value. Unlike the `yaml` package's YAML 1.1 schema, PyYAML does
 * not read y/Y/n/N as booleans, so neither does Keel.
 */

import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { pyYamlTags } from '@keel/protocol/pyyaml';
import { show } from './problems.ts';


export interface YamlResult {
  value: unknown;
  errors: string[];
  warnings: string[];
}

export function readYaml(text: string): YamlResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    version: '1.1',
    merge: true,
    uniqueKeys: false,
    prettyErrors: false, // the pretty form quotes the source line, which could hold a password
    lineCounter,
    customTags: pyYamlTags,
  });
  const at = (pos: readonly [number, number] | undefined): string => {
    if (!pos) return '';
    const { line, col } = lineCounter.linePos(pos[0]);
    return `line ${line}, column ${col}`;
  };
  const errors = doc.errors.map((e) => `${at(e.pos)}: YAML syntax error: ${e.message}`);
  const warnings = doc.warnings.map((w) => `${at(w.pos)}: YAML: ${w.message}`);
  if (errors.length > 0) return { value: undefined, errors, warnings };
  for (const dup of duplicateKeys(doc.contents, '')) {
    warnings.push(`${dup.path}: duplicate key at ${at(dup.pos)}; the last value wins (as in Patroni)`);
  }
  try {
    return { value: doc.toJS({ maxAliasCount: 1000 }), errors, warnings };
  } catch (e) {
    return { value: undefined, errors: [`YAML: ${e instanceof Error ? e.message : show(e)}`], warnings };
  }
}

function duplicateKeys(node: Node | null, path: string): Array<{ path: string; pos: [number, number] | undefined }> {
  const out: Array<{ path: string; pos: [number, number] | undefined }> = [];
  if (isMap(node)) {
    const seen = new Set<string>();
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
      const kp = key === undefined ? path : path ? `${path}.${key}` : key;
      if (key !== undefined && key !== '<<') {
        if (seen.has(key)) out.push({ path: kp, pos: isScalar(pair.key) && pair.key.range ? [pair.key.range[0], pair.key.range[1]] : undefined });
        seen.add(key);
      }
      out.push(...duplicateKeys(pair.value as Node | null, kp));
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => out.push(...duplicateKeys(item as Node | null, `${path}[${i}]`)));
  }
  return out;
}
