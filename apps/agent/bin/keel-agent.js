#!/usr/bin/env -S node --max-semi-space-size=1 --single-threaded --no-opt --max-lazy
// keel-agent <config.yml>: runs the built bundle (`npm run build` writes apps/agent/dist/).
// Production never compiles TypeScript at run time; tests and development use tsx on src/main.ts.
// Run this file itself, or node with the same flags (deploy/systemd, deploy/docker; their tests
// check the flags are these), so the V8 flags above apply; they trade speed
// the agent does not need for memory (ARCHITECTURE.md, "Footprint"): 1 MiB semi-spaces instead of
// up to 2 x 16 MiB of young generation, no V8 worker threads (each with its own malloc arena), no
// optimising compiler and its code. An idle agent holds ~30 MiB less.
import fs from 'node:fs';

const bundle = new URL('../dist/keel-agent.mjs', import.meta.url);
if (!fs.existsSync(bundle)) {
  process.stderr.write(`keel-agent: ${bundle.pathname} is missing: run \`npm run build\` in the Keel checkout first\n`);
  process.exit(2);
}
await import(bundle.href);
