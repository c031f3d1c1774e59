import tseslint from 'typescript-eslint';

// What the agent bundles must not call: ICU's collation and formatting data would be loaded into every
// agent (one localeCompare() costs ~5 MiB of RSS: ARCHITECTURE.md, "Footprint").
const AGENT_CODE = ['apps/agent/src/**/*.ts', 'packages/{ha-core,dcs,postgres,protocol}/src/**/*.ts'];
const ICU_PROPERTIES = ['localeCompare', 'toLocaleString', 'toLocaleDateString', 'toLocaleTimeString', 'toLocaleUpperCase', 'toLocaleLowerCase'].map((property) => ({
  property,
  message: 'loads ICU data into the agent (~5 MiB): use compareCodeUnits from @keel/protocol, or format without the locale',
}));

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/.next/**', '**/dist/**', '.keel-demo/**', 'apps/control-plane/generated/**', 'apps/control-plane/next-env.d.ts', '**/test-results/**', '**/playwright-report/**', '.artifacts/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: AGENT_CODE,
    rules: {
      'no-restricted-properties': ['error', ...ICU_PROPERTIES],
      'no-restricted-globals': ['error', { name: 'Intl', message: 'loads ICU data into the agent (~5 MiB)' }],
    },
  },
  {
    // ha-core decides; it never does I/O, reads the clock or draws random numbers.
    files: ['packages/ha-core/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: ['node:*', 'etcd3', 'pg', '@prisma/*', 'fs', 'child_process', 'http', 'net'] },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'use observation.now' },
        { object: 'Math', property: 'random', message: 'decide() is deterministic' },
        ...ICU_PROPERTIES,
      ],
      'no-restricted-syntax': ['error', { selector: 'AwaitExpression', message: 'decide() is synchronous' }],
    },
  },
);
