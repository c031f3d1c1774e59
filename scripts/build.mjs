#!/usr/bin/env node
// `npm run build`: the production artifacts, so nothing compiles TypeScript at run time.
//   apps/agent/dist/keel-agent.mjs (+ keel-fence.sh)   run by apps/agent/bin/keel-agent.js
//   apps/cli/dist/keelctl.mjs                           run by apps/cli/bin/keelctl.js
//   apps/control-plane/dist/server.mjs                  run by `npm run start -w @keel/control-plane`
// esbuild bundles each entry with the workspace's own TypeScript (@keel/* packages, the generated
// Prisma client) inlined; npm dependencies stay external and load from node_modules as published
// (several read files next to themselves at run time: pino's worker, Prisma's Wasm query
// compiler). Plain JavaScript, so it runs with bare `node`.
//
//   node scripts/build.mjs [agent|cli|control-plane ...] [--if-needed]
// --if-needed skips a target whose output is newer than every source it is built from.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Each target: its entry, its output, the directories whose files it is built from. */
const TARGETS = {
  agent: {
    entry: 'apps/agent/src/main.ts',
    out: 'apps/agent/dist/keel-agent.mjs',
    sources: ['apps/agent/src', 'packages/protocol/src', 'packages/ha-core/src', 'packages/dcs/src', 'packages/postgres/src'],
    // The fence is not Node: a shell script the agent spawns from next to its bundle.
    copy: [['apps/agent/src/fence/keel-fence.sh', 'apps/agent/dist/keel-fence.sh']],
  },
  cli: {
    entry: 'apps/cli/src/main.ts',
    out: 'apps/cli/dist/keelctl.mjs',
    sources: ['apps/cli/src', 'packages/protocol/src', 'packages/dcs/src'],
    copy: [],
  },
  'control-plane': {
    entry: 'apps/control-plane/server.ts',
    out: 'apps/control-plane/dist/server.mjs',
    sources: ['apps/control-plane/server.ts', 'apps/control-plane/server', 'apps/control-plane/lib', 'apps/control-plane/generated', 'packages/protocol/src'],
    copy: [],
  },
};

/** Bare imports of npm packages stay external; the workspace's own packages are bundled. */
const externalNpm = {
  name: 'external-npm',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('@keel/') || args.path.startsWith('node:')) return undefined;
      return { path: args.path, external: true };
    });
  },
};

function newestMtime(p) {
  const abs = path.join(ROOT, p);
  let st;
  try {
    st = fs.statSync(abs);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.mtimeMs;
  let max = st.mtimeMs;
  for (const e of fs.readdirSync(abs)) max = Math.max(max, newestMtime(path.join(p, e)));
  return max;
}

function upToDate(t) {
  let outTime;
  try {
    outTime = Math.min(...[t.out, ...t.copy.map((c) => c[1])].map((o) => fs.statSync(path.join(ROOT, o)).mtimeMs));
  } catch {
    return false;
  }
  return Math.max(...t.sources.map(newestMtime), newestMtime('scripts/build.mjs')) < outTime;
}

async function buildTarget(name) {
  const t = TARGETS[name];
  const started = Date.now();
  fs.rmSync(path.dirname(path.join(ROOT, t.out)), { recursive: true, force: true }); // nothing stale
  await build({
    entryPoints: [path.join(ROOT, t.entry)],
    outfile: path.join(ROOT, t.out),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20.19',
    sourcemap: 'linked',
    sourcesContent: false,
    legalComments: 'none',
    logLevel: 'warning',
    plugins: [externalNpm],
    // CommonJS code inlined into an ESM bundle may call require() for Node built-ins.
    banner: { js: "import { createRequire as __keelRequire } from 'node:module'; const require = __keelRequire(import.meta.url);" },
  });
  for (const [from, to] of t.copy) {
    fs.copyFileSync(path.join(ROOT, from), path.join(ROOT, to));
    fs.chmodSync(path.join(ROOT, to), 0o755);
  }
  return Date.now() - started;
}

const args = process.argv.slice(2);
const ifNeeded = args.includes('--if-needed');
const names = args.filter((a) => !a.startsWith('--'));
for (const n of names) if (!(n in TARGETS)) throw new Error(`unknown build target ${n} (known: ${Object.keys(TARGETS).join(', ')})`);
for (const name of names.length ? names : Object.keys(TARGETS)) {
  if (ifNeeded && upToDate(TARGETS[name])) continue;
  const ms = await buildTarget(name);
  const kib = Math.round(fs.statSync(path.join(ROOT, TARGETS[name].out)).size / 1024);
  console.log(`built ${TARGETS[name].out} (${kib} KiB, ${ms} ms)`);
}
