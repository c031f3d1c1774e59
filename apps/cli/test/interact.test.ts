import { describe, expect, it } from 'vitest';
import { Asker, parseScheduled, timestamp } from '../src/interact.ts';
import { CliError } from '../src/errors.ts';
import { bodyText, type Io } from '../src/context.ts';

const io = (interactive: boolean, answers: string[] = []): Io => ({
  out: () => undefined,
  err: () => undefined,
  interactive,
  stdoutIsTTY: false,
  ask: async () => answers.shift() ?? '',
});

describe('parseScheduled', () => {
  it('is null for now or nothing', () => {
    expect(parseScheduled(undefined)).toBeNull();
    expect(parseScheduled('now')).toBeNull();
    expect(parseScheduled('')).toBeNull();
  });

  it('keeps the zone that was given', () => {
    expect(parseScheduled('2026-11-26T13:00+00:00')).toBe('2026-11-26T13:00:00+00:00');
    expect(parseScheduled('2026-11-26T13:00:00Z')).toBe('2026-11-26T13:00:00+00:00');
    expect(parseScheduled('2026-11-26 13:00:00+0200')).toBe('2026-11-26T13:00:00+02:00');
  });

  it('reads a time without a zone as local time and says which offset that is', () => {
    const s = parseScheduled('2026-11-26T13:00')!;
    expect(s).toMatch(/^2026-11-26T13:00:00[+-]\d\d:\d\d$/);
    expect(new Date(s).getTime()).toBe(new Date(2026, 10, 26, 13, 0).getTime());
  });

  it('refuses an ambiguous timestamp with a usage error', () => {
    expect(() => parseScheduled('next tuesday')).toThrow(/unable to parse the scheduled timestamp/);
    expect(() => parseScheduled('11/26/2026')).toThrow(CliError);
  });
});

describe('timestamp', () => {
  it("prints patronictl's timestamp (five digits of fraction), or whole seconds", () => {
    const d = new Date(2026, 10, 26, 11, 15, 24, 203);
    expect(timestamp(d)).toBe('2026-11-26 11:15:24.20300');
    expect(timestamp(d, 0)).toBe('2026-11-26 11:15:24');
  });
});

describe('Asker', () => {
  it('refuses without a terminal, telling the user to pass --force (exit 2)', async () => {
    const a = new Asker(io(false), 'switch over');
    await expect(a.confirm('Sure?', 'Aborted')).rejects.toMatchObject({ exitCode: 2, message: 'refusing to switch over without confirmation: pass --force' });
    await expect(a.ask('Primary', 'node1')).rejects.toMatchObject({ exitCode: 2 });
  });

  it('takes the default on Enter, and a "no" (or Enter) at a confirmation aborts with exit 1', async () => {
    const a = new Asker(io(true, ['', 'n', 'yes']), 'restart');
    expect(await a.ask('Primary', 'node1')).toBe('node1');
    await expect(a.confirm('Sure?', 'Aborted restart')).rejects.toMatchObject({ exitCode: 1, message: 'Aborted restart' });
    await expect(a.confirm('Sure?', 'Aborted restart')).resolves.toBeUndefined();
  });
});

describe('bodyText', () => {
  it('unwraps what agents answer: plain text, a JSON string, {message}, {error, problems}', () => {
    expect(bodyText('candidate name does not match with sync_standby\n')).toBe('candidate name does not match with sync_standby');
    expect(bodyText('"Switchover scheduled"')).toBe('Switchover scheduled');
    expect(bodyText('{"message":"Restart scheduled","operation":"x"}')).toBe('Restart scheduled');
    expect(bodyText('{"error":"invalid configuration, nothing was written","problems":["ttl: must be >= 20","loop_wait: too big"]}')).toBe(
      'invalid configuration, nothing was written: ttl: must be >= 20; loop_wait: too big',
    );
  });
});
