import { createRequire } from 'node:module';
import type pgModule from 'pg';

/**
 * `pg`, loaded without waking Node's fetch. At load time pg probes the global `Response` to detect
 * Cloudflare Workers; in Node 20 that global is a lazy getter whose first touch loads Node's whole
 * fetch implementation (undici, compiling its HTTP parser to WebAssembly): ~6 MiB of an idle
 * agent's memory (ARCHITECTURE.md, "Footprint"), for nothing the agent uses. So `Response` reads as
 * undefined while pg loads (synchronously: nothing else can observe it), then the getter is put back.
 */
function loadPg(): typeof pgModule {
  const require = createRequire(import.meta.url);
  const original = Object.getOwnPropertyDescriptor(globalThis, 'Response');
  if (!original?.get) return require('pg') as typeof pgModule; // already loaded, or not lazy: nothing to spare
  Object.defineProperty(globalThis, 'Response', { value: undefined, configurable: true, writable: true });
  try {
    return require('pg') as typeof pgModule;
  } finally {
    Object.defineProperty(globalThis, 'Response', original);
  }
}

export const pg = loadPg();
