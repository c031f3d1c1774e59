import tseslint from 'typescript-eslint';

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
      ],
      'no-restricted-syntax': ['error', { selector: 'AwaitExpression', message: 'decide() is synchronous' }],
    },
  },
);
