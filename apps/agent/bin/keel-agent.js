#!/usr/bin/env -S node --max-semi-space-size=1 --single-threaded --no-opt --no-sparkplug --max-lazy --optimize-for-size
// keel-agent <config.yml>: runs the built bundle (`npm run build` writes apps/agent/dist/).
// Production never compiles TypeScript at run time; tests and development use tsx on src/main.ts.
// Run this file itself, or node with the same flags (deploy/systemd, deploy/docker; their tests
// check the flags are these), so the V8 flags above apply; they trade speed
// the agent does not need for memory (ARCHITECTURE.md, "Footprint"): 1 MiB semi-spaces instead of
// up to 2 x 16 MiB of young generation, no V8 worker threads (each with its own malloc arena), no
// optimising compiler and no baseline (Sparkplug) compiler and their code, the heap grown and
// compacted for size. An idle agent holds ~32 MiB less. Not --jitless/--lite-mode: they disable
// WebAssembly, which Node's fetch needs.
import fs from 'node:fs';

const bundle = new URL('../dist/keel-agent.mjs', import.meta.url);
if (!fs.existsSync(bundle)) {
  process.stderr.write(`keel-agent: ${bundle.pathname} is missing: run \`npm run build\` in the Keel checkout first\n`);
  process.exit(2);
}
await import(bundle.href);
