import { describe, expect, it } from 'vitest';
import { dumpYaml, parseYamlValue } from '../src/render/yaml.ts';
import { fixture, snapshotFromDump } from './helpers.ts';

describe('dumpYaml (PyYAML safe_dump, as patronictl show-config prints)', () => {
  it('prints /config exactly like patronictl show-config (keys sorted, on quoted, blank line at the end)', () => {
    expect(`${dumpYaml(snapshotFromDump('dcs_keys_decoded.json').config!.value)}\n`).toBe(fixture('patronictl_show_config.yaml'));
    expect(`${dumpYaml(snapshotFromDump('sync_off/dcs_keys_decoded.json').config!.value)}\n`).toBe(fixture('sync_off/patronictl_show_config.yaml'));
  });

  it('quotes strings that would read back as something else, like PyYAML (reference output from PyYAML 6)', () => {
    const data = {
      '1': 2,
      on: 1,
      p: { ON: 'ON', True: 'True', Y: 'Y', n: 'n', y: 'yes', x: 'off', amp: '&x', colon: 'a: b', comma: 'a,b', dash: '- x', date: '2024-01-01', dot: '.5', e: '', f: '1.0', hash: 'a #b', hex: '0x1F', oct: '0644', nl: 'a\nb', null: 'null', num: '10', sexa: '1:20', sp: ' lead', trail: 'x ', under: '1_000', tilde: '~', unicode: 'é', pct: '%x', size: '128MB' },
      list: [{ a: 1, b: [1, 2] }, { c: {} }],
      empty: [],
      nothing: null,
    };
    expect(dumpYaml(data)).toBe(
      [
        "'1': 2",
        'empty: []',
        'list:',
        '- a: 1',
        '  b:',
        '  - 1',
        '  - 2',
        '- c: {}',
        'nothing: null',
        "'on': 1",
        'p:',
        "  'ON': 'ON'",
        "  'True': 'True'",
        '  Y: Y',
        "  amp: '&x'",
        "  colon: 'a: b'",
        '  comma: a,b',
        "  dash: '- x'",
        "  date: '2024-01-01'",
        "  dot: '.5'",
        "  e: ''",
        "  f: '1.0'",
        "  hash: 'a #b'",
        "  hex: '0x1F'",
        '  n: n',
        "  nl: 'a",
        '',
        "    b'",
        "  'null': 'null'",
        "  num: '10'",
        "  oct: '0644'",
        "  pct: '%x'",
        "  sexa: '1:20'",
        '  size: 128MB',
        "  sp: ' lead'",
        "  tilde: '~'",
        "  trail: 'x '",
        "  under: '1_000'",
        '  unicode: é',
        "  x: 'off'",
        "  y: 'yes'",
        '',
      ].join('\n'),
    );
  });

  it('prints flow style on one line for tsv tags', () => {
    expect(dumpYaml({ nofailover: true, clonefrom: true }, { flow: true }).trim()).toBe('{clonefrom: true, nofailover: true}');
  });
});

describe('parseYamlValue (yaml.safe_load of an -s value)', () => {
  it('types values as PyYAML does', () => {
    expect(parseYamlValue('30')).toBe(30);
    expect(parseYamlValue('true')).toBe(true);
    expect(parseYamlValue('on')).toBe(true);
    expect(parseYamlValue('off')).toBe(false);
    expect(parseYamlValue('y')).toBe('y');
    expect(parseYamlValue('128MB')).toBe('128MB');
    expect(parseYamlValue("'10'")).toBe('10');
    expect(parseYamlValue('')).toBeNull();
    expect(parseYamlValue('null')).toBeNull();
    expect(parseYamlValue('[a, b]')).toEqual(['a', 'b']);
    expect(parseYamlValue('{type: logical, database: db}')).toEqual({ type: 'logical', database: 'db' });
  });
});
