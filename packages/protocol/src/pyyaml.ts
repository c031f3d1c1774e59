import type { Tags } from 'yaml';

const BOOL_TAG = 'tag:yaml.org,2002:bool';
const PY_TRUE = /^(?:[Yy]es|YES|[Tt]rue|TRUE|[Oo]n|ON)$/;
const PY_FALSE = /^(?:[Nn]o|NO|[Ff]alse|FALSE|[Oo]ff|OFF)$/;

/**
 * Patroni reads and patronictl prints YAML with PyYAML (YAML 1.1). The `yaml` package's 1.1 schema
 * also reads y/Y/n/N as booleans; PyYAML does not. Pass this as `customTags` with `version: '1.1'`.
 * (A subpath export, `@keel/protocol/pyyaml`, so browser code never pulls in the yaml package.)
 */
export function pyYamlTags(tags: Tags): Tags {
  return tags.map((t) => {
    if (typeof t !== 'object' || t.tag !== BOOL_TAG || !('test' in t) || !t.test) return t;
    return { ...t, test: t.test.test('true') ? PY_TRUE : PY_FALSE };
  });
}
