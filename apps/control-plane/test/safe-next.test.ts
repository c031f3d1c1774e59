import { describe, expect, it } from 'vitest';
import { AFTER_SIGN_IN, safeNextPath } from '../lib/safe-next.ts';

const ORIGIN = 'https://keel.example.com';

describe('the sign-in redirect (?next=)', () => {
  it('follows same-origin paths, with their query and fragment', () => {
    expect(safeNextPath('/clusters/alpha', ORIGIN)).toBe('/clusters/alpha');
    expect(safeNextPath('/admin/tokens?x=1#top', ORIGIN)).toBe('/admin/tokens?x=1#top');
  });

  it.each([
    ['nothing', null],
    ['empty', ''],
    ['an absolute URL', 'https://evil.example/x'],
    ['a scheme', 'javascript:alert(1)'],
    ['a data URL', 'data:text/html,hi'],
    ['protocol-relative', '//evil.example/x'],
    ['a backslash (browsers read it as /)', '/\\evil.example/x'],
    ['backslashes only', '\\\\evil.example'],
    ['a tab browsers strip', '/\t/evil.example'],
    ['a newline browsers strip', '/\n/evil.example'],
    ['a relative path', 'clusters'],
    ['the sign-in page itself', '/sign-in?next=/x'],
    ['a huge value', `/${'a'.repeat(5000)}`],
  ])('refuses %s', (_what, next) => {
    expect(safeNextPath(next, ORIGIN)).toBe(AFTER_SIGN_IN);
  });
});
