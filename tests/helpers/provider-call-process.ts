// Calls providers from a separate process, through the adapters the workers use, configured by
// lib/config.ts from the environment given. A separate process because NODE_EXTRA_CA_CERTS, the
// way an operator adds a private CA, is read only when Node starts.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ProviderCall {
  /** crm: POST <CRM_URL>/contacts; smtp: one message through SMTP_URL. */
  kind: 'crm' | 'smtp';
  env: Record<string, string>;
}

export type ProviderCallResult =
  | { ok: true; value: unknown }
  | { ok: false; name: string; kind?: string; message: string };

/** Runs `calls` one after another in a new Node process whose environment adds `processEnv`. */
export async function callProvidersInProcess(
  calls: readonly ProviderCall[],
  processEnv: Record<string, string> = {},
): Promise<ProviderCallResult[]> {
  const { PATH, HOME, TMPDIR } = process.env;
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'tests/helpers/provider-call-child.ts', JSON.stringify(calls)], {
    env: { NODE_ENV: 'test', ...(PATH ? { PATH } : {}), ...(HOME ? { HOME } : {}), ...(TMPDIR ? { TMPDIR } : {}), ...processEnv },
  });
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '[]') as ProviderCallResult[];
}
