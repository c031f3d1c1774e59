/**
 * Runs the Prisma CLI with Keel's offline configuration (prisma/prisma.config.ts, which holds the
 * workarounds): `tsx scripts/prisma.ts generate | migrate deploy | migrate dev ...`.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = path.dirname(fileURLToPath(import.meta.url));
const config = path.resolve(here, '../../../prisma/prisma.config.ts');
const cli = createRequire(import.meta.url).resolve('prisma/build/index.js');
const args = process.argv.slice(2);
if (args.length === 0) {
  console.error('usage: prisma.ts <generate | migrate deploy | migrate dev | migrate status | ...>');
  process.exit(2);
}
const r = spawnSync(process.execPath, [cli, ...args, '--config', config], {
  stdio: 'inherit',
  env: { ...process.env, PRISMA_HIDE_UPDATE_MESSAGE: '1', CHECKPOINT_DISABLE: '1', PRISMA_DISABLE_WARNINGS: '1' },
});
process.exit(r.status ?? 1);
