import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', '.next/', 'lib/generated/', 'test-results/', 'playwright-report/', 'next-env.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'error',
      // process.env is read in one module only (lib/config.ts; STYLE.md).
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read configuration through lib/config.ts.' },
      ],
      eqeqeq: ['error', 'always'],
    },
  },
  {
    // The config module reads the environment; tests and tooling pass it on to what they start.
    files: ['lib/config.ts', 'tests/**', '**/*.test.ts', 'e2e/**', 'scripts/start-stack.ts', '*.config.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
);
