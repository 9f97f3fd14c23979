// The web and worker processes of a bench stack, run the way production runs them: the command of
// `npm run web` (the standalone Next.js server) and of `npm run workers` (the bundle
// dist/workers.js), node's flags included, read from package.json; each a child of this process
// with the stack's environment. Their output goes to a file under bench/.work/logs
// rather than to the terminal: at 100 signups/s they log hundreds of lines a second, and writing
// them straight to a file costs the load generator, which shares the cores, nothing. Both are
// stopped when the stack closes.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { QueueName } from '@/lib/config';
import { BACKGROUND_NICENESS, freePort, type BenchStack } from '@/bench/harness/bench-stack';

export const STANDALONE_SERVER = join('.next', 'standalone', 'server.js');
export const WORKERS_BUNDLE = join('dist', 'workers.js');
export const LOG_DIR = join('bench', '.work', 'logs');
/** A cold standalone server takes seconds on 2 cores; a minute is a failure. */
const START_DEADLINE_MS = 60_000;
/** Past the workers' own shutdown deadline (stack.config), what is still alive is killed. */
const STOP_MARGIN_MS = 5_000;
/** What workers/main.ts logs once its workers, relay and maintenance are running. */
const WORKER_READY_LINE = '"msg":"worker started"';

export interface AppProcess {
  name: string;
  pid: number;
  /** Where its stdout and stderr go. */
  logFile: string;
  /** SIGTERM, SIGKILL after the deadline, then any child it left behind; idempotent. */
  stop(): Promise<void>;
}

export interface WebProcess extends AppProcess {
  /** http://127.0.0.1:<port>, answering /api/health with 200. */
  url: string;
  adminPassword: string;
}

export interface AppProcessOptions {
  /** Names the log files, e.g. the scenario's id: bench/.work/logs/<label>-web.log. */
  label?: string;
  /** On top of the stack's environment. */
  env?: Record<string, string>;
  /** Node's own flags, before the entry point (e.g. --cpu-prof). */
  nodeArgs?: readonly string[];
}

/** `node .next/standalone/server.js` on a free port; resolves once /api/health answers 200. */
export async function startWeb(stack: BenchStack, options: AppProcessOptions = {}): Promise<WebProcess> {
  requireBuild(STANDALONE_SERVER);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const adminPassword = randomBytes(12).toString('base64url');
  const started = launch(stack, 'web', [...nodeFlagsOf('web'), ...(options.nodeArgs ?? []), STANDALONE_SERVER], options, {
    // The standalone server takes its address from PORT and HOSTNAME, not from flags.
    PORT: String(port),
    HOSTNAME: '127.0.0.1',
    APP_URL: url,
    ADMIN_PASSWORD: adminPassword,
    // A production web server refuses to start without one (instrumentation.ts).
    SESSION_SECRET: randomBytes(32).toString('base64url'),
    // The per-address limit would refuse a load generator at once; the benchmark measures the path.
    SIGNUP_RATE_LIMIT_PER_MINUTE: '0',
    // The signup-latency scenario measures the synchronous baseline against the queued path.
    SYNC_BASELINE: 'on',
  });
  await waitUntilReady(started, async () => {
    const response = await fetch(`${url}/api/health`, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
    return response?.status === 200;
  });
  return { ...started.process, url, adminPassword };
}

export interface WorkerProcessOptions extends AppProcessOptions {
  /** WORKER_QUEUES; all four by default. */
  queues?: readonly QueueName[];
  /**
   * Another entry point run the same way, which must log the same ready line: capacity.ts runs
   * bench/harness/lifted-limits-worker.ts and bench/harness/noop-worker.ts so.
   */
  entry?: string;
  args?: readonly string[];
}

/**
 * `npm run workers`'s command (a TypeScript `entry` runs through tsx instead), serving `queues` (all
 * by default); resolves once it logs it started.
 */
export async function startWorkers(stack: BenchStack, options: WorkerProcessOptions = {}): Promise<AppProcess> {
  const name = options.queues ? `workers-${options.queues.join('-')}` : 'workers';
  const entry = options.entry ?? WORKERS_BUNDLE;
  if (entry === WORKERS_BUNDLE) requireBuild(WORKERS_BUNDLE);
  const loader = entry.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const argv = [...nodeFlagsOf('workers'), ...(options.nodeArgs ?? []), ...loader, entry, ...(options.args ?? [])];
  const started = launch(stack, name, argv, options, {
    ...(options.queues ? { WORKER_QUEUES: options.queues.join(',') } : {}),
    // 0: no metrics server, so any number of worker processes can run side by side.
    WORKER_METRICS_PORT: '0',
  });
  setPriority(started.process.pid, BACKGROUND_NICENESS);
  await waitUntilReady(started, async () => readFileSync(started.process.logFile, 'utf8').includes(WORKER_READY_LINE));
  return started.process;
}

function requireBuild(file: string): void {
  if (!existsSync(file)) {
    throw new Error(`${file} is missing: the benchmark runs the production build, so run \`npm run build\` first`);
  }
}

/** Node's own flags in an npm script's command (`node --max-old-space-size=128 file` gives the flag). */
export function nodeFlagsOf(script: string): string[] {
  const scripts = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts;
  const words = (scripts[script] ?? '').split(/\s+/).filter((word) => !/^[A-Z_]+=/.test(word));
  if (words[0] !== 'node') throw new Error(`npm run ${script} does not run node: ${scripts[script]}`);
  return words.slice(1).filter((word) => word.startsWith('--'));
}

/** Every process below `pid` (children, grandchildren…), read from /proc. */
export function descendantPids(pid: number): number[] {
  const childrenOf = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited between the listing and the read
    }
    // The fields after the command name, which may itself contain spaces and parentheses.
    const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    childrenOf.set(parent, [...(childrenOf.get(parent) ?? []), Number(entry)]);
  }
  const found: number[] = [];
  const pending = [pid];
  while (pending.length > 0) {
    for (const child of childrenOf.get(pending.pop() as number) ?? []) {
      found.push(child);
      pending.push(child);
    }
  }
  return found;
}

/**
 * CPU time, user and system, of `pid` and (with `withDescendants`) of everything below it, in
 * seconds; 0 for a process that has exited. /proc counts in USER_HZ ticks, 100 a second on Linux.
 */
export function cpuSeconds(pid: number, { withDescendants = false } = {}): number {
  const ticks = (of: number) => {
    try {
      const stat = readFileSync(`/proc/${of}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return Number(fields[11]) + Number(fields[12]); // utime, stime
    } catch {
      return 0;
    }
  };
  const pids = withDescendants ? [pid, ...descendantPids(pid)] : [pid];
  return pids.reduce((total, of) => total + ticks(of), 0) / 100;
}

/** VmRSS from /proc/<pid>/status, in bytes; 0 for a process that has exited. */
export function rssBytes(pid: number): number {
  try {
    const kib = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kib === undefined ? 0 : Number(kib) * 1_024;
  } catch {
    return 0;
  }
}

interface Launched {
  process: AppProcess;
  child: ChildProcess;
}

function launch(
  stack: BenchStack,
  name: string,
  args: string[],
  options: AppProcessOptions,
  ownEnv: Record<string, string>,
): Launched {
  mkdirSync(LOG_DIR, { recursive: true });
  const logFile = join(LOG_DIR, `${options.label ?? `bench-${process.pid}`}-${name}.log`);
  const output = openSync(logFile, 'w');
  const child: ChildProcess = spawn(process.execPath, args, {
    // Benchmarks measure production mode, always (and ProcessEnv's type insists on NODE_ENV).
    env: { ...stack.env, ...ownEnv, ...options.env, NODE_ENV: 'production' },
    stdio: ['ignore', output, output],
  });
  closeSync(output); // the child holds its own descriptor
  if (child.pid === undefined) throw new Error(`${name} could not be started`);
  const deadlineMs = stack.config.workerShutdownDeadlineMs + STOP_MARGIN_MS;
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= stopProcess(child, deadlineMs));
  stack.onClose(stop);
  return { process: { name, pid: child.pid, logFile, stop }, child };
}

async function waitUntilReady({ process: started, child }: Launched, isReady: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + START_DEADLINE_MS;
  while (!(await isReady())) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const how = child.signalCode ?? `code ${child.exitCode}`;
      throw new Error(`${started.name} exited (${how}) before it was ready:\n${logTail(started.logFile)}`);
    }
    if (Date.now() > deadline) {
      await started.stop();
      throw new Error(`${started.name} was not ready within ${START_DEADLINE_MS / 1_000} s:\n${logTail(started.logFile)}`);
    }
    await sleep(100);
  }
}

async function stopProcess(child: ChildProcess, deadlineMs: number): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  // Collected first: once the parent is gone its children are re-parented and no longer found.
  const descendants = descendantPids(child.pid);
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), deadlineMs);
  await exited;
  clearTimeout(killer);
  for (const pid of descendants) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already exited with its parent, as it should
    }
  }
}

function logTail(logFile: string, lines = 30): string {
  try {
    return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n') || '(no output)';
  } catch {
    return '(no log)';
  }
}
