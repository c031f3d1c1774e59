import { describe, expect, it } from 'vitest';
import { checkPassword } from '../server/lib/password-policy.ts';
import { auditHash, canonicalJson, GENESIS_HASH } from '../server/lib/audit-hash.ts';

describe('password policy', () => {
  it('refuses short, common, repetitive and e-mail-based passwords', () => {
    expect(checkPassword('Sh0rt!')).toMatch(/at least 12/);
    expect(checkPassword('password123')).toMatch(/at least 12/);
    expect(checkPassword('administrator')).toMatch(/too common/);
    expect(checkPassword('aaaaaaaaaaaaaaaa')).toMatch(/too few different/);
    expect(checkPassword('Dbadmin-2026!x', 'dbadmin@example.com')).toMatch(/e-mail/);
    expect(checkPassword('lowercaseonly')).toMatch(/3 of/);
  });

  it('accepts mixed passwords and long passphrases', () => {
    expect(checkPassword('Correct-Horse-9')).toBeNull();
    expect(checkPassword('correct horse battery staple')).toBeNull();
  });
});

describe('audit hash chain', () => {
  const entry = { at: '2026-11-26T12:00:00.000Z', actorId: null, actor: 'cli', action: 'user.create', target: 'user:a@b.c', details: { b: 1, a: [2, { d: 3, c: 4 }] } };

  it('serialises with sorted keys, so key order never changes a hash', () => {
    expect(canonicalJson({ b: 1, a: { d: 1, c: 2 } })).toBe('{"a":{"c":2,"d":1},"b":1}');
    expect(auditHash(GENESIS_HASH, entry)).toBe(auditHash(GENESIS_HASH, { ...entry, details: { a: [2, { c: 4, d: 3 }], b: 1 } }));
  });

  it('links each entry to the previous hash', () => {
    const h1 = auditHash(GENESIS_HASH, entry);
    expect(auditHash(h1, entry)).not.toBe(h1);
    expect(auditHash(GENESIS_HASH, { ...entry, target: 'user:x@b.c' })).not.toBe(h1);
  });
});
