import { describe, expect, it } from 'vitest';
import { HostHealth } from '../src/host-health.ts';

describe('HostHealth: which etcd host the next request goes to', () => {
  it('sticks to the host that answered last, avoids one that failed while another is up, and never locks out', () => {
    let now = 1000;
    const h = new HostHealth(['a', 'b', 'c'], () => now);
    expect(h.pick()).toBe('a');
    h.markDown('a');
    expect(h.pick()).toBe('b');
    h.markUp('b');
    expect(h.pick()).toBe('b');
    now += 5000; // a is no longer down, but b answered: stay on b
    expect(h.pick()).toBe('b');
    h.markDown('b');
    expect(h.pick()).toBe('c');
    h.markDown('c');
    expect(h.pick()).toBe('a');
    h.markDown('a'); // a's 2nd failure: down for 2 s; b and c for 1 s (b's down ends first)
    expect(h.pick()).toBe('b');
    expect(h.lastOkAt('b')).toBe(1000);
  });

  it('backs off a failing host 1 s, doubling to 30 s, and forgets on an answer', () => {
    let now = 0;
    const h = new HostHealth(['a', 'b'], () => now);
    for (let i = 0; i < 10; i++) h.markDown('a');
    now += 29_999;
    expect(h.isDown('a')).toBe(true);
    now += 2;
    expect(h.isDown('a')).toBe(false);
    h.markDown('a');
    h.markUp('a');
    expect(h.isDown('a')).toBe(false);
    expect(h.pick()).toBe('a');
  });

  it('tells its listeners which host a request failed to reach, until they unsubscribe', () => {
    const h = new HostHealth(['a', 'b']);
    const down: string[] = [];
    const off = h.onDown((host) => down.push(host));
    h.markDown('b');
    h.markUp('b'); // an answer is not news for them
    h.markDown('a');
    off();
    h.markDown('a');
    expect(down).toEqual(['b', 'a']);
  });
});
