import { defineConfig } from 'vitest/config';

// `npm run test:dr`: disaster-recovery scenarios too long for the CI budget (real etcd, PostgreSQL,
// pgBackRest), one file at a time. Not part of `npm test`.
export default defineConfig({
  test: {
    name: 'dr',
    include: ['apps/*/dr/**/*.dr.test.ts'],
    exclude: ['**/node_modules/**'],
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 300_000,
  },
});
