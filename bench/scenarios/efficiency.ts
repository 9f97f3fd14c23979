// Whether the signup stays fast at peak on its own machine, and what each signup and job costs next
// to its floor. One web process and one worker process, as in production, on the same 2 cores as
// PostgreSQL, Valkey, the mock providers (in this process, with their published rate limits) and
// the load generator:
//
//  1. A fixed 100 signups/s, open loop (open-loop.ts), providers up and the worker running: the
//     signup's latency and errors, and the web's CPU per signup. Then the same again, shorter, with
//     both processes under the CPU profiler (node --cpu-prof), summarised as the top costs: apart,
//     so that the judged figures carry none of the profiler's own cost.
//  2. The floor: the same database and queue work in plain `pg` and BullMQ, at the same rate, in a
//     process of its own (signup-floor.ts): the web's CPU per signup is judged against it.
//  3. The most signups/s the stack sustains with p99 ≤ 250 ms and no errors: open-loop steps of
//     rising rate; and, for comparison with earlier figures, a closed loop of 8 connections.
//  4. The worker's CPU per job, each queue drained alone from a backlog with the rate limits lifted,
//     against BullMQ's own cost: the same backlog drained by no-op workers at the same concurrency.
//
// Memory over five minutes is the memory scenario's.
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { cpuSeconds, descendantPids, rssBytes, startWeb, startWorkers, type AppProcess } from '@/bench/harness/app-processes';
import {
  backlogPhase,
  drainBacklog,
  LIFTED_LIMITS_WORKER,
  NO_OP_WORKER,
  noOpBacklog,
  signupBacklog,
  type Phase,
} from '@/bench/harness/backlog-drain';
import { startBenchStack } from '@/bench/harness/bench-stack';
import { costTable, summarizeCpuProfile, type ProfileSummary } from '@/bench/harness/cpu-profile';
import { openLoop, type OpenLoopResult } from '@/bench/harness/open-loop';
import { markdownTable, type Scenario, type TargetCheck } from '@/bench/harness/scenario';
import { signupRequests, type LoadResult } from '@/bench/harness/signup-load';
import { ms } from '@/bench/harness/stats';
import type { QueueName } from '@/lib/queues';
import { efficiencyCharts, JUDGED_QUEUES, TARGET_WEB_RATIO, TARGET_WORKER_RATIO } from '@/bench/scenarios/efficiency-charts';

const RATE = 100;
const TARGET_P99_MS = 50;
const SUSTAIN_P99_MS = 250;
/** The issue's figure for the code before this work: 49 signups/s, closed loop of 8 connections. */
const SUSTAINED_BEFORE = 49;
const TARGET_SUSTAIN_RATIO = 3;
/** The production concurrency of the judged queues, for the no-op workers' like-for-like drain. */
const NO_OP_CONCURRENCY = 20;
/** Absolute: Next's standalone server changes into its own folder before it writes the profile. */
const PROFILE_DIR = resolve('bench', '.work', 'profiles');

const SIZES = {
  full: {
    warmUp: 300,
    seconds: 60,
    profileSeconds: 30,
    floorSeconds: 20,
    steps: [50, 100, 150, 200, 250, 300, 400, 500],
    stepSeconds: 10,
    closedLoop: { amount: 1_500, connections: 8 },
    backlog: 2_000,
    deadlineMs: 300_000,
  },
  quick: {
    warmUp: 20,
    seconds: 2,
    profileSeconds: 1,
    floorSeconds: 1,
    steps: [50],
    stepSeconds: 1,
    closedLoop: { amount: 40, connections: 8 },
    backlog: 30,
    deadlineMs: 120_000,
  },
};
type Size = (typeof SIZES)['full'];

interface SteadyRun {
  load: OpenLoopResult;
  /** ms of CPU per signup sent: the web process; the worker with its sandboxes. */
  webCpuMsPerSignup: number;
  workerCpuCores: number;
  /** MB of RSS at the end. */
  rss: { web: number; worker: number; sandboxes: number };
  /** Only in the profiled run. */
  profiles: { web?: ProfileSummary; worker?: ProfileSummary };
}

interface Step {
  rate: number;
  load: OpenLoopResult;
}

export const scenario: Scenario = {
  id: 'efficiency',
  title: 'Efficiency: the signup at a fixed 100/s, and each signup and job against its floor',
  async run({ quick, progress }) {
    const size = quick ? SIZES.quick : SIZES.full;
    const steady = await steadyRun(size.seconds, size, progress, false);
    const profiled = await steadyRun(size.profileSeconds, size, progress, true);
    const floorMsPerSignup = await floor(size, progress);
    const { steps, closedLoop } = await sustainable(size, progress);
    const perJob = await workerCostPerJob(size, quick, progress);
    return report({ quick, size, steady, profiled, floorMsPerSignup, steps, closedLoop, perJob });
  },
};

let signupCounter = 0;
const signupBody = () => {
  signupCounter += 1;
  return { name: `Load ${signupCounter}`, email: `load-${process.pid}-${Date.now()}-${signupCounter}@example.com` };
};

async function steadyRun(seconds: number, size: Size, progress: (line: string) => void, profile: boolean): Promise<SteadyRun> {
  rmSync(PROFILE_DIR, { recursive: true, force: true });
  const dirs = { web: join(PROFILE_DIR, 'web'), worker: join(PROFILE_DIR, 'worker') };
  for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true });
  const profiler = (dir: string) => (profile ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : []);
  const stack = await startBenchStack({ mocksInOwnProcess: true });
  try {
    const [web, workers] = await Promise.all([
      startWeb(stack, { label: 'efficiency', nodeArgs: profiler(dirs.web) }),
      startWorkers(stack, { label: 'efficiency', nodeArgs: profiler(dirs.worker) }),
    ]);
    progress(`web (pid ${web.pid}) and one worker process (pid ${workers.pid}) ready${profile ? ', both profiled' : ''}`);
    await openLoop({ url: web.url, path: '/api/signups', ratePerSecond: RATE, seconds: size.warmUp / RATE, body: signupBody });
    await sleep(2_000);

    const before = { web: cpuSeconds(web.pid), worker: cpuSeconds(workers.pid, { withDescendants: true }) };
    const started = performance.now();
    const load = await openLoop({ url: web.url, path: '/api/signups', ratePerSecond: RATE, seconds, body: signupBody });
    const elapsed = (performance.now() - started) / 1_000;
    const webCpu = cpuSeconds(web.pid) - before.web;
    const workerCpu = cpuSeconds(workers.pid, { withDescendants: true }) - before.worker;
    const mb = (bytes: number) => bytes / 2 ** 20;
    const rss = {
      web: mb(rssBytes(web.pid)),
      worker: mb(rssBytes(workers.pid)),
      sandboxes: mb(descendantPids(workers.pid).map(rssBytes).reduce((sum, bytes) => sum + bytes, 0)),
    };
    progress(`${RATE}/s for ${seconds} s${profile ? ', profiled' : ''}: ${line(load)}; web ${((webCpu * 1_000) / load.sent).toFixed(2)} ms CPU per signup`);

    // Profiles are written when a process exits on its own (SIGTERM, then its clean shutdown).
    await stopAll([web, workers]);
    return {
      load,
      webCpuMsPerSignup: (webCpu * 1_000) / load.sent,
      workerCpuCores: workerCpu / elapsed,
      rss,
      profiles: profile ? { web: profileIn(dirs.web), worker: profileIn(dirs.worker) } : {},
    };
  } finally {
    await stack.close();
  }
}

async function stopAll(processes: AppProcess[]): Promise<void> {
  await Promise.all(processes.map((process) => process.stop()));
}

function profileIn(dir: string): ProfileSummary | undefined {
  const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
  return file ? summarizeCpuProfile(join(dir, file)) : undefined;
}

/** The floor script's CPU per signup at the same rate, on a stack of its own. */
async function floor(size: Size, progress: (line: string) => void): Promise<number> {
  const stack = await startBenchStack();
  try {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'bench/harness/signup-floor.ts', '--rate', String(RATE), '--seconds', String(size.floorSeconds)],
      { env: { ...stack.env, NODE_ENV: 'production' }, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    if (code !== 0) throw new Error(`the floor script exited with ${code}`);
    const { cpuMsPerSignup } = JSON.parse(output.trim().split('\n').at(-1) ?? '{}') as { cpuMsPerSignup: number };
    progress(`floor: plain pg + BullMQ, ${cpuMsPerSignup.toFixed(3)} ms CPU per signup`);
    return cpuMsPerSignup;
  } finally {
    await stack.close();
  }
}

async function sustainable(size: Size, progress: (line: string) => void): Promise<{ steps: Step[]; closedLoop: LoadResult }> {
  const stack = await startBenchStack({ mocksInOwnProcess: true });
  try {
    const [web] = await Promise.all([startWeb(stack, { label: 'efficiency-steps' }), startWorkers(stack, { label: 'efficiency-steps' })]);
    await openLoop({ url: web.url, path: '/api/signups', ratePerSecond: RATE, seconds: size.warmUp / RATE, body: signupBody });
    const steps: Step[] = [];
    for (const rate of size.steps) {
      await sleep(3_000);
      const load = await openLoop({ url: web.url, path: '/api/signups', ratePerSecond: rate, seconds: size.stepSeconds, body: signupBody });
      steps.push({ rate, load });
      progress(`step ${rate}/s: ${line(load)}`);
      if (!sustains(load)) break;
    }
    await sleep(3_000);
    const closedLoop = await signupRequests({ url: web.url, path: '/api/signups' }, size.closedLoop);
    progress(
      `closed loop, ${size.closedLoop.connections} connections: ${closedLoop.throughputPerSecond.toFixed(0)}/s, p99 ${ms(closedLoop.latency.p99)}`,
    );
    return { steps, closedLoop };
  } finally {
    await stack.close();
  }
}

function sustains(load: OpenLoopResult): boolean {
  return load.errorRate === 0 && load.latency.p99 <= SUSTAIN_P99_MS;
}

interface PerJob {
  /** ms of worker CPU per job, by queue, with its sandboxes for avatars. */
  real: Partial<Record<QueueName, number>>;
  noOp: Partial<Record<QueueName, number>>;
}

/** Each queue's backlog drained alone by one process: the real handlers, then no-op ones. */
async function workerCostPerJob(size: Size, quick: boolean, progress: (line: string) => void): Promise<PerJob> {
  const stack = await startBenchStack({ unlimitedProviders: true });
  const queues: QueueName[] = ['email', 'crm', 'analytics', 'avatar'];
  const cpuMsPerJob = (phase: Phase) => {
    const jobs = Object.values(phase.jobs).reduce((sum, count) => sum + count, 0);
    return jobs > 0 ? (phase.cpu.workers * phase.cpu.seconds * 1_000) / jobs : Number.NaN;
  };
  try {
    const real = await drainBacklog(stack, {
      label: 'efficiency-jobs',
      processes: 1,
      entry: LIFTED_LIMITS_WORKER,
      ...signupBacklog(stack, { backlog: size.backlog, flow: 0, warmUp: quick ? 2 : 20 }),
      rounds: [{ kind: 'backlog', phases: queues.map((queue) => [queue]) }],
      deadlineMs: size.deadlineMs,
    });
    const noOp = await drainBacklog(stack, {
      label: 'efficiency-noop',
      processes: 1,
      entry: NO_OP_WORKER,
      args: ['--concurrency', String(NO_OP_CONCURRENCY)],
      ...noOpBacklog(size.backlog, quick ? 10 : 100),
      rounds: [{ kind: 'backlog', phases: JUDGED_QUEUES.map((queue) => [queue]) }],
      deadlineMs: size.deadlineMs,
    });
    const byQueue = (run: typeof real, list: readonly QueueName[]) =>
      Object.fromEntries(list.map((queue, index) => [queue, cpuMsPerJob(run.rounds[0]?.phases[index] ?? backlogPhase(run))]));
    const result = { real: byQueue(real, queues), noOp: byQueue(noOp, JUDGED_QUEUES) };
    progress(
      `CPU per job: ${queues.map((queue) => `${queue} ${result.real[queue]?.toFixed(3)} ms`).join(', ')}; ` +
        `no-op ${JUDGED_QUEUES.map((queue) => `${queue} ${result.noOp[queue]?.toFixed(3)} ms`).join(', ')}`,
    );
    return result;
  } finally {
    await stack.close();
  }
}

function line(load: OpenLoopResult): string {
  return (
    `p50 ${ms(load.latency.p50)}, p99 ${ms(load.latency.p99)}, max ${ms(load.latency.max)}, ` +
    `${load.sent - load.unanswered} answered of ${load.sent}, errors ${(load.errorRate * 100).toFixed(1)}%`
  );
}

function report({
  quick,
  size,
  steady,
  profiled,
  floorMsPerSignup,
  steps,
  closedLoop,
  perJob,
}: {
  quick: boolean;
  size: Size;
  steady: SteadyRun;
  profiled: SteadyRun;
  floorMsPerSignup: number;
  steps: Step[];
  closedLoop: LoadResult;
  perJob: PerJob;
}) {
  const judged = (met: boolean) => (quick ? undefined : met);
  const webRatio = steady.webCpuMsPerSignup / floorMsPerSignup;
  const bestStep = steps.filter((step) => sustains(step.load)).at(-1);
  const targets: TargetCheck[] = [
    {
      target: `signup p99 ≤ ${TARGET_P99_MS} ms and 0 errors at a fixed ${RATE}/s for ${size.seconds} s, providers up, worker running`,
      measured: `p99 ${ms(steady.load.latency.p99)}, ${steady.load.sent - steadyOk(steady.load)} errors of ${steady.load.sent}`,
      met: judged(steady.load.latency.p99 <= TARGET_P99_MS && steady.load.errorRate === 0),
    },
    {
      target: `web CPU per signup ≤ ${TARGET_WEB_RATIO}× the floor (plain pg + BullMQ, same work)`,
      measured: `${steady.webCpuMsPerSignup.toFixed(2)} ms vs ${floorMsPerSignup.toFixed(2)} ms: ${webRatio.toFixed(1)}×`,
      met: judged(webRatio <= TARGET_WEB_RATIO),
    },
    ...JUDGED_QUEUES.map((queue) => {
      const ratio = (perJob.real[queue] ?? Number.NaN) / (perJob.noOp[queue] ?? Number.NaN);
      return {
        target: `worker CPU per ${queue} job ≤ ${TARGET_WORKER_RATIO}× BullMQ's no-op`,
        measured: `${perJob.real[queue]?.toFixed(3)} ms vs ${perJob.noOp[queue]?.toFixed(3)} ms: ${ratio.toFixed(1)}×`,
        met: judged(ratio <= TARGET_WORKER_RATIO),
      };
    }),
    {
      // Judged as the figure before was measured, a closed loop of 8 connections; the open-loop
      // steps are the stricter reading, reported beside it.
      target: `most signups/s with p99 ≤ ${SUSTAIN_P99_MS} ms ≥ ${TARGET_SUSTAIN_RATIO}× before (${SUSTAINED_BEFORE}/s, closed loop of 8)`,
      measured:
        `closed loop of 8: ${closedLoop.throughputPerSecond.toFixed(0)}/s, p99 ${ms(closedLoop.latency.p99)} ` +
        `(${(closedLoop.throughputPerSecond / SUSTAINED_BEFORE).toFixed(1)}×); open loop: ` +
        (bestStep ? `${bestStep.rate}/s sustained (p99 ${ms(bestStep.load.latency.p99)})` : 'no step sustained'),
      met: judged(
        closedLoop.throughputPerSecond >= SUSTAINED_BEFORE * TARGET_SUSTAIN_RATIO &&
          closedLoop.latency.p99 <= SUSTAIN_P99_MS &&
          closedLoop.errorRate === 0,
      ),
    },
  ];

  const profileSection = (name: string, summary: ProfileSummary | undefined, perUnit?: { count: number; unit: string }) =>
    summary
      ? [
          `**${name}**: ${summary.busyMs.toFixed(0)} ms busy of ${summary.totalMs.toFixed(0)} ms profiled (the whole process life, start-up included).`,
          costTable(summary.byOwner, perUnit),
          costTable(summary.byFunction.slice(0, 12)),
        ].join('\n\n')
      : `**${name}**: no profile was written.`;

  const markdown = [
    markdownTable(
      ['', 'sent', 'p50', 'p95', 'p99', 'max', 'errors', 'web CPU per signup', 'worker CPU (cores)'],
      [
        [
          `${RATE}/s, ${size.seconds} s`,
          steady.load.sent,
          ms(steady.load.latency.p50),
          ms(steady.load.latency.p95),
          ms(steady.load.latency.p99),
          ms(steady.load.latency.max),
          steady.load.sent - steadyOk(steady.load),
          `${steady.webCpuMsPerSignup.toFixed(2)} ms`,
          steady.workerCpuCores.toFixed(2),
        ],
      ],
    ),
    `Floor, the same database and queue work in plain pg and BullMQ at ${RATE}/s: **${floorMsPerSignup.toFixed(3)} ms** of CPU per signup.`,
    `RSS at the end of the steady run: web ${steady.rss.web.toFixed(0)} MB, worker ${steady.rss.worker.toFixed(0)} MB, avatar sandboxes ${steady.rss.sandboxes.toFixed(0)} MB.`,
    '### Rising rate, open loop',
    markdownTable(
      ['rate', 'p50', 'p99', 'max', 'errors', 'sustained'],
      steps.map(({ rate, load }) => [
        `${rate}/s`,
        ms(load.latency.p50),
        ms(load.latency.p99),
        ms(load.latency.max),
        load.sent - steadyOk(load),
        sustains(load) ? 'yes' : 'no',
      ]),
    ),
    `Closed loop, ${size.closedLoop.connections} connections, ${size.closedLoop.amount} signups: ${closedLoop.throughputPerSecond.toFixed(0)}/s, p50 ${ms(closedLoop.latency.p50)}, p99 ${ms(closedLoop.latency.p99)}.`,
    '### Worker CPU per job',
    markdownTable(
      ['queue', 'real handlers', 'BullMQ no-op', 'ratio'],
      (['email', 'crm', 'analytics', 'avatar'] as QueueName[]).map((queue) => [
        queue,
        `${perJob.real[queue]?.toFixed(3)} ms`,
        perJob.noOp[queue] === undefined ? '(sandboxed render, its own line)' : `${perJob.noOp[queue]?.toFixed(3)} ms`,
        perJob.noOp[queue] === undefined ? '' : `${((perJob.real[queue] ?? 0) / (perJob.noOp[queue] ?? 1)).toFixed(1)}×`,
      ]),
    ),
    [
      `Each queue's backlog (${size.backlog} jobs from real signups) drained alone by one worker process at production`,
      `concurrency with the queue and provider rate limits lifted, so the figure is the code's cost, not a quota's;`,
      `the no-op line is the same drain by plain BullMQ Workers whose processor does nothing, at concurrency`,
      `${NO_OP_CONCURRENCY}. The mock providers run in the benchmark's own process, not the worker's. Avatar jobs count their`,
      `sandbox processes, where the PNG is rendered.`,
    ].join('\n'),
    '### Where the CPU goes',
    [
      `From a second run at ${RATE}/s for ${size.profileSeconds} s with both processes under \`node --cpu-prof\`, apart from the`,
      `judged one so that the judged figures carry none of the profiler's own cost (that run: ${line(profiled.load)};`,
      `web ${profiled.webCpuMsPerSignup.toFixed(2)} ms CPU per signup, against ${steady.webCpuMsPerSignup.toFixed(2)} ms unprofiled). Self time by owner (a package, a folder`,
      `of ours, or Node and V8), then the top functions. On a saturated machine a niced process is often preempted inside`,
      `a system call, and the profiler charges the wait to that call: \`writev\` and \`writeBuffer\` stand for the sockets'`,
      `writes plus the time the process waited for a core, not for slow writes (strace put one at 5-10 µs).`,
    ].join('\n'),
    profileSection('The web process', profiled.profiles.web, { count: profiled.load.sent + size.warmUp, unit: 'signup' }),
    profileSection('The worker process', profiled.profiles.worker),
  ].join('\n\n');

  const data = { steady, profiled, floorMsPerSignup, steps, closedLoop, perJob };
  return { markdown, targets, charts: efficiencyCharts(data), data };
}

function steadyOk(load: OpenLoopResult): number {
  return Object.entries(load.statuses).reduce((sum, [status, count]) => sum + (status.startsWith('2') ? count : 0), 0);
}
