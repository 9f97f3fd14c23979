// The layer rules of eslint.config.mjs, run on imports written to break them: lint must refuse each
// one, so deleting or loosening a rule fails here, and the imports the layers allow stay allowed.
// docs/architecture.md draws the same rules.
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint();

async function restricted(filePath: string, specifier: string): Promise<boolean> {
  const [result] = await eslint.lintText(`import '${specifier}';\n`, { filePath });
  return (result?.messages ?? []).some((message) => message.ruleId === 'no-restricted-imports');
}

const CASES: Array<[file: string, specifier: string, refused: boolean]> = [
  // lib/ is the ground floor.
  ['lib/outbox.ts', '@/workers/jobs/job-contracts', true],
  ['lib/outbox.ts', '@/app/_web/web-runtime', true],
  ['lib/outbox.ts', '@/infra/mock-providers/fault-control', true],
  ['lib/outbox.ts', '../workers/main', true],
  ['lib/outbox.ts', '@/bench/run', true],
  ['lib/outbox.ts', '@/lib/queues', false],
  // app/ meets workers/ through the contracts only (and the baseline, in its two files).
  ['app/_signup/create-signup.ts', '@/workers/jobs/job-contracts', false],
  ['app/_signup/create-signup.ts', '@/workers/jobs/job-handlers', true],
  ['app/_signup/create-signup.ts', '@/workers/jobs/email/send-welcome-email.handler', true],
  ['app/_signup/create-signup.ts', '@/workers/runtime/process-job', true],
  ['app/_signup/create-signup.ts', '@/workers/jobs/sync-baseline', true],
  ['app/_signup/sync-signup.ts', '@/workers/jobs/sync-baseline', false],
  ['app/_signup/sync-signup.ts', '@/workers/jobs/job-handlers', true],
  ['app/admin/(console)/provider-fault-panel.tsx', '@/infra/mock-providers/fault-control', false],
  ['app/admin/(console)/provider-fault-panel.tsx', '@/infra/mock-providers/fault-modes', true],
  ['app/admin/(console)/provider-fault-panel.tsx', '../../../infra/mock-providers/fault-modes', true],
  ['app/_signup/create-signup.ts', '@/tests/helpers/test-stack', true],
  ['proxy.ts', '@/workers/runtime/start-workers', true],
  // workers/ never reaches up into app/ or into the mocks.
  ['workers/main.ts', '@/app/_web/web-runtime', true],
  ['workers/main.ts', '@/infra/mock-providers/fault-control', true],
  ['workers/runtime/start-workers.ts', '../../app/_signup/create-signup', true],
  ['workers/main.ts', '@/lib/outbox', false],
  // The mock providers stand on lib/ alone.
  ['infra/mock-providers/main.ts', '@/lib/log', false],
  ['infra/mock-providers/main.ts', './fault-modes', false],
  ['infra/mock-providers/main.ts', '@/workers/providers/provider-errors', true],
  ['infra/mock-providers/main.ts', '../../lib/log', true],
  // Tests and tooling may import anything.
  ['tests/outbox.test.ts', '@/workers/jobs/job-handlers', false],
  ['bench/run.ts', '@/app/_signup/create-signup', false],
];

describe('the layer rules', () => {
  it.each(CASES)('%s importing %s: refused %s', async (file, specifier, refused) => {
    expect(await restricted(file, specifier)).toBe(refused);
  });
});
