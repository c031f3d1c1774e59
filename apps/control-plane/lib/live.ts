'use client';
/**
 * useLive(onMessage, cluster?): the /live WebSocket (session cookie), reconnecting with backoff.
 * Returns whether it is connected.
 */
import { useEffect, useRef, useState } from 'react';
import type { TLiveMessage } from '../server/live/messages.ts';

export type { TLiveMessage };

export function useLive(onMessage: (m: TLiveMessage) => void, cluster?: string): boolean {
  const [connected, setConnected] = useState(false);
  const handler = useRef(onMessage);
  handler.current = onMessage;
  useEffect(() => {
    let ws: WebSocket | null = null;
    let stopped = false;
    let delay = 500;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const connect = () => {
      const proto = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
      const q = cluster ? `?cluster=${encodeURIComponent(cluster)}` : '';
      ws = new WebSocket(`${proto}//${window.location.host}/live${q}`);
      ws.onopen = () => {
        delay = 500;
        setConnected(true);
      };
      ws.onmessage = (ev) => {
        try {
          handler.current(JSON.parse(String(ev.data)) as TLiveMessage);
        } catch {
          /* ignore a bad frame */
        }
      };
      ws.onclose = () => {
        setConnected(false);
        if (stopped) return;
        timer = setTimeout(connect, delay);
        delay = Math.min(delay * 2, 10_000);
      };
    };
    connect();
    return () => {
      stopped = true;
      clearTimeout(timer);
      ws?.close();
    };
  }, [cluster]);
  return connected;
}
