import path from 'node:path';
import type { NextConfig } from 'next';

const config: NextConfig = {
  // the monorepo root (one lockfile), so Turbopack resolves the workspace packages
  turbopack: { root: path.resolve(import.meta.dirname, '../..') },
  // server.ts is the server: no standalone output, no image optimisation service needed
  images: { unoptimized: true },
  poweredByHeader: false,
  // typecheck runs separately (npm run typecheck); the build only bundles
  typescript: { ignoreBuildErrors: true },
};

export default config;
