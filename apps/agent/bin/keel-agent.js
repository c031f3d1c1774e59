#!/usr/bin/env node
// keel-agent <config.yml>: runs the built bundle (`npm run build` writes apps/agent/dist/).
// Production never compiles TypeScript at run time; tests and development use tsx on src/main.ts.
import fs from 'node:fs';

const bundle = new URL('../dist/keel-agent.mjs', import.meta.url);
if (!fs.existsSync(bundle)) {
  process.stderr.write(`keel-agent: ${bundle.pathname} is missing: run \`npm run build\` in the Keel checkout first\n`);
  process.exit(2);
}
await import(bundle.href);
