#!/usr/bin/env node
// `npm run build`: the production artifacts, so nothing compiles TypeScript at run time.
//   apps/agent/dist/keel-agent.mjs (+ keel-fence.sh)   run by apps/agent/bin/keel-agent.js
//   apps/cli/dist/keelctl.mjs                           run by apps/cli/bin/keelctl.js
//   apps/control-plane/dist/server.mjs                  run by `npm run start -w @keel/control-plane`
// esbuild bundles each entry with the workspace's own TypeScript (@keel/* packages, the generated
// Prisma client) inlined. keelctl and the control plane keep their npm dependencies external (they
// load from node_modules as published; Prisma reads its Wasm query compiler next to itself). The
// agent, whose idle memory is budgeted (ARCHITECTURE.md, "Footprint"), bundles and minifies its npm
// dependencies too, except those it loads only when needed (AGENT_EXTERNAL below). Plain JavaScript,
// so it runs with bare `node`.
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
    bundleNpm: true,
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

/**
 * The agent's npm packages that stay out of its bundle and load from node_modules only when used,
 * so an idle agent neither evaluates them nor keeps their source text:
 * - pg: loaded by packages/postgres/src/load-pg.ts through createRequire (it hides the global
 *   `Response` while pg loads), which esbuild does not follow anyway;
 * - pino-pretty: only for log.type plain (log.ts requires it then, in-process, no worker thread);
 * - node-zookeeper-client: only when the DCS is ZooKeeper (packages/dcs/src/zk-session.ts);
 * - light-my-request: Fastify's inject(), for tests; Fastify requires it on the first call;
 * - Fastify's schema compilers (Ajv, fast-json-stringify): the agent's routes declare no Fastify
 *   schema (bodies are parsed with zod), so lazyFastifyCompilers below stands in for them and
 *   requires the real ones only if a schema ever has to be compiled;
 * - optional native add-ons (pg-native, ws's bufferutil and utf-8-validate): absent, and their
 *   packages fall back to JavaScript when the require throws.
 */
const AGENT_EXTERNAL = ['pg', 'pino-pretty', 'node-zookeeper-client', 'light-my-request', 'pg-native', 'bufferutil', 'utf-8-validate'];

/** Fastify's default schema compilers, loaded on first use (see AGENT_EXTERNAL). */
const LAZY_COMPILERS = { '@fastify/ajv-compiler': 'ValidatorSelector', '@fastify/fast-json-stringify-compiler': 'SerializerSelector' };
const LAZY_NS = 'keel-lazy-compiler';
const lazyFastifyCompilers = {
  name: 'lazy-fastify-compilers',
  setup(b) {
    // Fastify calls the selector once per instance and the builder it returns per schema.
    b.onResolve({ filter: /^@fastify\/(ajv-compiler|fast-json-stringify-compiler)$/ }, (args) =>
      args.namespace === LAZY_NS ? { path: args.path, external: true } : { path: args.path, namespace: LAZY_NS },
    );
    b.onLoad({ filter: /.*/, namespace: LAZY_NS }, (args) => ({
      loader: 'js',
      resolveDir: ROOT,
      contents: `module.exports = function ${LAZY_COMPILERS[args.path]}(...opts) {
  let real;
  return function build(...args) {
    real ??= require(${JSON.stringify(args.path)})(...opts);
    return real(...args);
  };
};`,
    }));
  },
};

/**
 * zod v4's \`import { z } from 'zod'\` is a re-exported namespace that esbuild cannot tree-shake: it
 * keeps all of zod's classic API, every locale and JSON-schema conversion (~450 KiB). The same
 * binding imported as \`import * as z\` is shaken to what the code uses (~75 KiB): rewrite it in the
 * workspace's sources while bundling the agent. Nothing else changes (same namespace, same zod).
 */
const zodNamespace = {
  name: 'zod-namespace',
  setup(b) {
    b.onLoad({ filter: /[\\/](packages|apps)[\\/].*\.ts$/ }, (args) => {
      const src = fs.readFileSync(args.path, 'utf8');
      if (!src.includes("import { z } from 'zod';")) return undefined;
      return { loader: 'ts', contents: src.replaceAll("import { z } from 'zod';", "import * as z from 'zod';") };
    });
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
    ...(t.bundleNpm
      ? {
          // V8 keeps a module's whole source text (for lazy compilation): less of it, less memory.
          // Identifiers stay as written so stack traces name the functions and classes; for
          // TypeScript file:line positions run with NODE_OPTIONS=--enable-source-maps (the map is
          // written beside the bundle and read only then).
          minifyWhitespace: true,
          minifySyntax: true,
          external: AGENT_EXTERNAL,
          plugins: [lazyFastifyCompilers, zodNamespace],
        }
      : { plugins: [externalNpm] }),
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
