'use client';
/**
 * The dashboard's live wiring: one /live WebSocket per page; each message updates the react-query
 * cache in place (live-cache.ts), so a change on an agent is on screen as soon as the server has
 * stored it, without a refetch. A reconnect (a second `hello`) or the database coming back
 * refetches everything, since messages may have been missed meanwhile. While the feed is down the
 * queries poll instead.
 */
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback, useEffect, useRef, useState } from 'react';
import { useLive, type TLiveMessage } from '../lib/live.ts';
import { useTRPC } from '../lib/trpc.ts';
import { applyToDetail, applyToList, listKnows } from './live-cache.ts';

/** Poll this often while the live feed is connected (a safety net) and while it is not. */
export const POLL_LIVE_MS = 30_000;
export const POLL_OFFLINE_MS = 5_000;

export function useLiveDashboard(scope?: string): { connected: boolean } {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const hellos = useRef(0);
  const listRefetch = useRef<ReturnType<typeof setTimeout> | null>(null);

  const onMessage = useCallback(
    (m: TLiveMessage) => {
      const healthKey = trpc.health.status.queryKey();
      if (m.type === 'hello') {
        qc.setQueryData(healthKey, { database: m.database, staleAfterSeconds: m.staleAfterSeconds, serverTime: m.serverTime });
        // a reconnect: we may have missed messages
        if (hellos.current++ > 0) void qc.invalidateQueries();
        return;
      }
      if (m.type === 'database') {
        qc.setQueryData(healthKey, (old) => (old ? { ...old, database: m.database } : old));
        if (m.database.ok) void qc.invalidateQueries();
        return;
      }
      if (m.type === 'operation') {
        void qc.invalidateQueries({ queryKey: trpc.operations.pathKey() });
        return;
      }
      if (m.type === 'incident') {
        void qc.invalidateQueries({ queryKey: trpc.incidents.pathKey() });
        return;
      }
      if (m.type === 'notice') return;
      if (scope) qc.setQueryData(trpc.clusters.byScope.queryKey({ scope }), (old) => applyToDetail(old, m));
      const listKey = trpc.clusters.list.queryKey();
      const list = qc.getQueryData(listKey);
      if (list === undefined) return;
      if (listKnows(list, m)) {
        qc.setQueryData(listKey, (old) => applyToList(old, m));
      } else if (!listRefetch.current) {
        // a cluster or member the list has not seen: fetch it (once per burst)
        listRefetch.current = setTimeout(() => {
          listRefetch.current = null;
          void qc.invalidateQueries({ queryKey: listKey });
        }, 250);
      }
    },
    [qc, trpc, scope],
  );

  useEffect(
    () => () => {
      if (listRefetch.current) clearTimeout(listRefetch.current);
    },
    [],
  );

  const connected = useLive(onMessage, scope);
  return { connected };
}

/** A clock that ticks every intervalMs (for "2 s ago" and client-side staleness). */
export function useNow(intervalMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(t);
  }, [intervalMs]);
  return now;
}

/**
 * The server's clock (now, in ms) as estimated from the last health answer, the stale threshold,
 * and the control plane's database state.
 */
export function useServerStatus(connected: boolean) {
  const trpc = useTRPC();
  const health = useQuery({ ...trpc.health.status.queryOptions(), refetchInterval: connected ? POLL_LIVE_MS : POLL_OFFLINE_MS, staleTime: 0 });
  const now = useNow(1000);
  const offset = health.data ? Date.parse(health.data.serverTime) - health.dataUpdatedAt : 0;
  return {
    serverNow: now + (Number.isFinite(offset) ? offset : 0),
    localNow: now,
    staleAfterSeconds: health.data?.staleAfterSeconds ?? 30,
    database: health.data?.database ?? null,
    /** The health endpoint itself did not answer (the control plane is away). */
    unreachable: health.isError,
  };
}
