/**
 * YAML the way patronictl prints and reads it (PyYAML, YAML 1.1):
 * - dumpYaml() matches yaml.safe_dump(data, default_flow_style=False, allow_unicode=True, width=200):
 *   keys sorted, sequences not indented under their key, strings quoted only when they would read back
 *   as something else ('on', '10', '', 'a: b' ...), single quotes preferred.
 * - parseYamlValue() reads a value like yaml.safe_load does (`-s ttl=30` gives a number, `on` a boolean).
 * Known differences from PyYAML, none of which occur in a normal Patroni configuration: floats print as
 * JavaScript prints them (1e+21, not 1.0e+21), and a string holding a single quote or a tab is quoted
 * differently (but reads back the same).
 */

import YAML from 'yaml';
import { pyYamlTags } from '@keel/protocol/pyyaml';

export interface DumpOptions {
  /** PyYAML's default_flow_style=True: everything on one line ({a: 1, b: [1, 2]}). */
  flow?: boolean;
}

/** yaml.safe_dump: the text ends with a newline (an empty mapping is "{}\n"). */
export function dumpYaml(data: unknown, opts: DumpOptions = {}): string {
  return YAML.stringify(data ?? null, {
    version: '1.1',
    customTags: pyYamlTags,
    sortMapEntries: true,
    indentSeq: false,
    lineWidth: 0,
    singleQuote: true,
    blockQuote: false,
    nullStr: 'null',
    trueStr: 'true',
    falseStr: 'false',
    flowCollectionPadding: false,
    ...(opts.flow ? { collectionStyle: 'flow' as const } : {}),
  });
}

export class YamlSyntaxError extends Error {
  override readonly name = 'YamlSyntaxError';
}

/** yaml.safe_load of a whole document (a file given to edit-config, the text after an editor). */
export function parseYaml(text: string): unknown {
  const doc = YAML.parseDocument(text, { version: '1.1', customTags: pyYamlTags, merge: true, uniqueKeys: false, prettyErrors: false });
  if (doc.errors.length > 0) throw new YamlSyntaxError(doc.errors.map((e) => e.message).join('; '));
  return doc.toJS({ maxAliasCount: 1000 }) ?? null;
}

/** yaml.safe_load of one value: "30" -> 30, "on" -> true, "128MB" -> "128MB", "" -> null, "[a, b]" -> ["a", "b"]. */
export function parseYamlValue(text: string): unknown {
  return parseYaml(text);
}
