import { afterEach, describe, expect, it, vi } from 'vitest';
import { LiveHub, SOFT_BUFFERED_BYTES } from '../server/live/hub.ts';
import type { TLiveMessage } from '../server/live/messages.ts';

/** A browser socket as the hub sees it: what was sent, and how much is still buffered. */
function fakeSocket() {
  const sent: TLiveMessage[] = [];
  const ws = { OPEN: 1, readyState: 1, bufferedAmount: 0, send: (d: string) => sent.push(JSON.parse(d) as TLiveMessage), terminate: vi.fn(), close: vi.fn() };
  return { ws, sent };
}

function hubWith(ws: unknown): LiveHub {
  const hub = new LiveHub({ authenticate: async () => null, checkOrigin: () => null, hello: () => ({ type: 'hello' }) as unknown as TLiveMessage });
  (hub as unknown as { subscribers: Set<unknown> }).subscribers.add({ ws, userId: 'u', cluster: null, alive: true, held: new Map() });
  return hub;
}

const member = (name: string, lastSeq: number) => ({ type: 'member', cluster: 'alpha', member: { name, lastSeq } }) as unknown as TLiveMessage;
const presence = (name: string, connected: boolean) => ({ type: 'presence', cluster: 'alpha', member: name, connected, at: '' }) as TLiveMessage;
const event = (id: string) => ({ type: 'event', cluster: 'alpha', event: { id } }) as unknown as TLiveMessage;

describe('LiveHub backpressure', () => {
  afterEach(() => vi.useRealTimers());

  it('holds only the newest update per member while a browser is behind, sends events at once, and catches up once drained', () => {
    vi.useFakeTimers();
    const { ws, sent } = fakeSocket();
    const hub = hubWith(ws);
    hub.publish(member('pg0', 1));
    expect(sent).toHaveLength(1);
    ws.bufferedAmount = SOFT_BUFFERED_BYTES + 1;
    for (let seq = 2; seq <= 100; seq++) hub.publish(member('pg0', seq));
    hub.publish(member('pg1', 7));
    hub.publish(presence('pg0', false));
    hub.publish(event('e1'));
    // behind: only the event went out
    expect(sent.map((m) => m.type)).toEqual(['member', 'event']);
    vi.advanceTimersByTime(500);
    expect(sent).toHaveLength(2);
    // drained: the newest of each, in the order they last changed (pg0's disconnection after its update)
    ws.bufferedAmount = 0;
    vi.advanceTimersByTime(100);
    expect(sent.slice(2)).toEqual([member('pg0', 100), member('pg1', 7), presence('pg0', false)]);
    expect(ws.terminate).not.toHaveBeenCalled();
    hub.publish(member('pg0', 101));
    expect(sent.at(-1)).toEqual(member('pg0', 101));
    hub.close();
  });

  it('drops only a browser that let 8 MiB pile up', () => {
    const { ws } = fakeSocket();
    const hub = hubWith(ws);
    ws.bufferedAmount = 9 * 1024 * 1024;
    hub.publish(event('e1'));
    expect(ws.terminate).toHaveBeenCalled();
    expect(hub.size).toBe(0);
    hub.close();
  });
});
