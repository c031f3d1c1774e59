#!/usr/bin/env node
// keelctl: runs the built bundle (`npm run build` writes apps/cli/dist/). Production never
// compiles TypeScript at run time; tests and development may run src/main.ts through tsx.
import fs from 'node:fs';

const bundle = new URL('../dist/keelctl.mjs', import.meta.url);
if (!fs.existsSync(bundle)) {
  process.stderr.write(`keelctl: ${bundle.pathname} is missing: run \`npm run build\` in the Keel checkout first\n`);
  process.exit(2);
}
const { cli } = await import(bundle.href);
await cli();
