#!/usr/bin/env node
// keel-agent <config.yml>: runs the TypeScript sources through tsx (no build step).
import { register } from 'tsx/esm/api';
register();
await import('../src/main.ts');
