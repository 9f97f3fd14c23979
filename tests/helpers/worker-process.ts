// A real worker process (`workers/main.ts`, what `npm run workers` runs) for tests that kill one.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { childProcessEnv, type Config } from '@/lib/config';
import { waitFor } from '@/tests/helpers/test-stack';

export interface WorkerProcess {
  child: ChildProcess;
  output(): string;
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function startWorkerProcess(config: Config, env: Record<string, string> = {}): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'workers/main.ts'], {
    env: {
      ...childProcessEnv(config),
      WORKER_QUEUES: config.workerQueues.join(','),
      WORKER_SHUTDOWN_DEADLINE_MS: String(config.workerShutdownDeadlineMs),
      // Other test files' dead letters live in the same database; this process must not alert them.
      ALERT_WINDOW_MS: String(60 * 60 * 1_000),
      // Nor re-enqueue their jobs into this test's queues.
      RECONCILE_EVERY_MS: '0',
      ...(config.lockOverrides.lockDurationMs ? { WORKER_LOCK_DURATION_MS: String(config.lockOverrides.lockDurationMs) } : {}),
      ...(config.lockOverrides.stalledIntervalMs ? { WORKER_STALLED_INTERVAL_MS: String(config.lockOverrides.stalledIntervalMs) } : {}),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exit = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  await waitFor(() => output.includes('worker started') || child.exitCode !== null, { what: 'the worker process to start' });
  if (child.exitCode !== null) throw new Error(`worker process exited at start:\n${output}`);
  return { child, output: () => output, exited: () => exit };
}
