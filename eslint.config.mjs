import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

// The layers (docs/architecture.md): lib/ is the ground floor; app/ and workers/ stand on it and
// meet only through the job contracts; the mock providers stand on lib/ alone. Each rule names
// what a folder may not import, by `@/` path or by a relative path that climbs out of it. Tests,
// benchmarks, scripts and e2e may import anything.
const TOP = '^(@/|(\\.\\./)+)';
const forbid = (what, message) => ({ regex: `${TOP}(${what})(/|$)`, message });
const TOOLING = 'bench|scripts|tests|e2e';
const layers = (...patterns) => ({ 'no-restricted-imports': ['error', { patterns }] });

const LIB = layers(forbid(`app|workers|infra|${TOOLING}`, 'lib/ is the ground floor: it imports nothing above it.'));
const appRules = (allowedWorkers) =>
  layers(
    { regex: `${TOP}workers/(?!(${allowedWorkers})$)`, message: 'app/ meets workers/ only through workers/jobs/job-contracts.ts.' },
    { regex: `${TOP}infra/(?!mock-providers/fault-control$)`, message: 'app/ may import only infra/mock-providers/fault-control.ts.' },
    forbid(TOOLING, 'app/ does not import tests or tooling.'),
  );
const WORKERS = layers(forbid(`app|infra|${TOOLING}`, 'workers/ stands on lib/ and the job contracts, never on app/.'));
const MOCKS = layers({
  regex: '^(@/(?!lib/)|\\.\\./)',
  message: 'The mock providers stand on lib/ alone.',
});

export default tseslint.config(
  { ignores: ['node_modules/', '.next/', 'lib/generated/', 'test-results/', 'playwright-report/', 'next-env.d.ts', 'dist/'] },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'error',
      // process.env is read in one module only (lib/config.ts).
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read configuration through lib/config.ts.' },
      ],
      eqeqeq: ['error', 'always'],
    },
  },
  { files: ['lib/**/*.ts'], ignores: ['**/*.test.ts'], rules: LIB },
  { files: ['app/**/*.{ts,tsx}', 'proxy.ts', 'instrumentation.ts'], rules: appRules('jobs/job-contracts') },
  {
    // The synchronous baseline must call handlers: the one module of workers/ besides the contracts.
    files: ['app/_web/web-runtime.ts', 'app/_signup/sync-signup.ts'],
    rules: appRules('jobs/(job-contracts|sync-baseline)'),
  },
  { files: ['workers/**/*.ts'], ignores: ['**/*.test.ts'], rules: WORKERS },
  { files: ['infra/mock-providers/**/*.ts'], ignores: ['**/*.test.ts'], rules: MOCKS },
  {
    // The config module reads the environment; tests and tooling pass it on to what they start.
    files: ['lib/config.ts', 'tests/**', '**/*.test.ts', 'e2e/**', 'scripts/start-stack.ts', '*.config.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
);
