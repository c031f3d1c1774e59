#!/usr/bin/env node
// keelctl: runs the TypeScript sources through tsx (no build step).
import { register } from 'tsx/esm/api';
register();
const { cli } = await import('../src/main.ts');
await cli();
