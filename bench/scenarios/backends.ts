// Issue #8, scenario 5, widened by issue #22: the same enqueue-and-process workload on BullMQ with
// Valkey 8, with the machine's Redis 7 and with BullMQ 6's PostgreSQL backend, and on the two queues
// teams choose when they want their jobs in PostgreSQL, pg-boss and graphile-worker, to confirm or
// refute the claim that queues kept in PostgreSQL pay a steep cost against Valkey. The workload and
// its two retentions are in bench/harness/backend-workload.ts: the contract's (completed jobs kept,
// trimmed to 10,000, which BullMQ's PostgreSQL backend pays for at every completion) and completed
// jobs removed. One run turns PostgreSQL's synchronous_commit off, about the durability Valkey's
// once-a-second fsync gives, to show what the per-commit WAL flush costs.
//
// Every timing run has its own server or database, all started up front, and each measurement goes
// round the runs in turn (concurrency 1 on each, then 10 on each, ...), so the load the other
// scenarios put on this machine falls on all of them alike rather than on whichever ran in a busy
// minute. Then the cost runs (bench/harness/backend-costs.ts) go one backend at a time on fresh
// stores: CPU and memory for all five, and for the three table queues the table and index sizes,
// dead tuples, WAL and autovacuum after 100,000 jobs and again after ten minutes at a fixed rate.
import { DrainDeadlineError, drainBacklog, offeredLoad, type DrainResult, type LatencyResult, type Retention } from '@/bench/harness/backend-workload';
import { autovacuumOn, startCostMeter, type PhaseCost } from '@/bench/harness/backend-costs';
import { startGraphileWorkerBackend } from '@/bench/harness/graphile-worker-backend';
import { startPgBossBackend } from '@/bench/harness/pg-boss-backend';
import { startKeyValueBackend, startPostgresBackend, type QueueBackend } from '@/bench/harness/queue-backends';
import { config as processConfig } from '@/lib/config';
import { markdownTable, type BenchOptions, type Scenario, type TargetCheck } from '@/bench/harness/scenario';
import { ms } from '@/bench/harness/stats';
import { perSecond, rate } from '@/bench/harness/throughput';
import { backendsCharts, CONCURRENCIES, processRate, RETENTION_LABEL } from '@/bench/scenarios/backends-charts';

const OFFERED_PER_SECOND = 200;
/** Between our network queues' 5 and 20: a worker that is neither starved nor idle. */
const LATENCY_CONCURRENCY = 10;
/**
 * "Steep": Valkey processes at least twice the jobs per second (geometric mean over the three
 * concurrencies). BullMQ's own guide expects 1.5–2× on a laptop; beyond 2× the cost would change
 * what a team should choose.
 */
const STEEP_RATIO = 2;

type Family = 'Valkey' | 'Redis' | 'PostgreSQL' | 'PostgreSQL, sync commit off' | 'pg-boss' | 'graphile-worker';

interface RunPlan {
  /** Runs with the same family share a table. */
  family: Family;
  retention: Retention;
  color: string;
  start(): Promise<QueueBackend>;
}

const PLANS: RunPlan[] = [
  { family: 'Valkey', retention: 'kept', color: '#2563eb', start: () => startKeyValueBackend('valkey-server') },
  { family: 'Redis', retention: 'kept', color: '#dc2626', start: () => startKeyValueBackend('redis-server') },
  { family: 'PostgreSQL', retention: 'kept', color: '#16a34a', start: () => startPostgresBackend({ synchronousCommit: true }) },
  { family: 'Valkey', retention: 'removed', color: '#60a5fa', start: () => startKeyValueBackend('valkey-server') },
  { family: 'PostgreSQL', retention: 'removed', color: '#86efac', start: () => startPostgresBackend({ synchronousCommit: true }) },
  { family: 'PostgreSQL, sync commit off', retention: 'removed', color: '#d97706', start: () => startPostgresBackend({ synchronousCommit: false }) },
  // Both delete (graphile-worker) or archive (pg-boss) completed jobs by their own design: see each adapter's header.
  { family: 'pg-boss', retention: 'removed', color: '#7c3aed', start: startPgBossBackend },
  { family: 'graphile-worker', retention: 'removed', color: '#db2777', start: startGraphileWorkerBackend },
];

/**
 * The cost runs: one per backend, each on a fresh server or database, one at a time, so that the
 * server-wide WAL position and the machine's cores are each one's alone. Completed jobs removed
 * (or deleted, or archived, as each backend does), the retention a PostgreSQL deployment picks.
 * The sustained run is for the table queues, whose costs (dead tuples, vacuum, WAL) grow with time.
 */
interface CostPlan {
  family: Family;
  color: string;
  sustained: boolean;
  start(): Promise<QueueBackend>;
}

const COST_PLANS: CostPlan[] = [
  { family: 'Valkey', color: '#2563eb', sustained: false, start: () => startKeyValueBackend('valkey-server') },
  { family: 'Redis', color: '#dc2626', sustained: false, start: () => startKeyValueBackend('redis-server') },
  { family: 'PostgreSQL', color: '#16a34a', sustained: true, start: () => startPostgresBackend({ synchronousCommit: true }) },
  { family: 'pg-boss', color: '#7c3aed', sustained: true, start: startPgBossBackend },
  { family: 'graphile-worker', color: '#db2777', sustained: true, start: startGraphileWorkerBackend },
];

/** bench/run.ts's flag for the comparison alone: the cost runs take about 50 of its 60 minutes. */
const WITHOUT_COST_RUNS = '--without-cost-runs';

/** The cost runs' backlog drain: at the highest concurrency, where the backend is the bottleneck. */
const COST_CONCURRENCY = 50;
/**
 * Time for one backend's cost phase (drain, or sustained run) in the full run. BullMQ on
 * PostgreSQL and graphile-worker drain the 100,000 jobs in under two minutes; pg-boss 10 sorts its
 * whole backlog at every fetch, so it slows as the backlog deepens (14,263 jobs in these 15 minutes
 * in bench/results/2026-12-05-backends.md) and would take hours. Fifteen minutes shows that and
 * keeps the whole scenario near an hour.
 */
const COST_DRAIN_DEADLINE_MS = 900_000;

interface CostRun {
  family: Family;
  color: string;
  name: string;
  library: string;
  detail: string;
  error?: string;
  jobs: number;
  drain?: DrainResult;
  drainCost?: PhaseCost;
  /** Set when the drain missed its deadline: `drain` then holds the jobs processed by then. */
  drainMissed?: string;
  sustained?: LatencyResult;
  sustainedCost?: PhaseCost;
}

interface Run {
  family: Family;
  retention: Retention;
  color: string;
  name: string;
  detail: string;
  library: string;
  /** Why it could not be measured (the table queues only: Valkey and Redis are the baseline). */
  error?: string;
  drains: DrainResult[];
  latency?: LatencyResult;
}

export const scenario: Scenario = {
  id: 'backends',
  title: 'Backends: BullMQ on Valkey 8, Redis 7 and PostgreSQL; pg-boss; graphile-worker',
  async run(options) {
    // PostgreSQL's own default, for every run of the scenario: see autovacuumOn.
    const autovacuum = await autovacuumOn(processConfig().databaseUrl);
    options.progress(`PostgreSQL's autovacuum: ${autovacuum.before}; on for this scenario`);
    try {
      return await measure(options, autovacuum.before);
    } finally {
      await autovacuum.restore();
    }
  },
};

async function measure({ quick, progress }: BenchOptions, autovacuumBefore: string) {
  const jobs = quick ? 300 : 10_000;
  const durationMs = quick ? 1_000 : 20_000;
  const deadlineMs = quick ? 20_000 : 600_000;
  const runs: Run[] = [];
  const backends = new Map<Run, QueueBackend>();
  const fail = (run: Run, error: unknown) => {
    if (isBaseline(run.family)) throw error;
    run.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    progress(`${run.name}: FAILED: ${run.error}`);
  };
  // One step on every run still standing; a PostgreSQL run that fails is reported, never dropped.
  const eachRun = async (step: (backend: QueueBackend, run: Run) => Promise<void>) => {
    for (const [run, backend] of backends) {
      if (!run.error) await step(backend, run).catch((error: unknown) => fail(run, error));
    }
  };
  try {
    for (const plan of PLANS) {
      const run: Run = { ...plan, name: `${plan.family}, ${RETENTION_LABEL[plan.retention]}`, detail: '', library: '', drains: [] };
      runs.push(run);
      try {
        const backend = await plan.start();
        Object.assign(run, { name: `${backend.name}, ${RETENTION_LABEL[plan.retention]}`, detail: backend.detail, library: backend.library });
        backends.set(run, backend);
      } catch (error) {
        fail(run, error);
      }
    }
    for (const concurrency of CONCURRENCIES) {
      await eachRun(async (backend, run) => {
        const drain = await drainBacklog(backend, { jobs, concurrency, retention: run.retention, deadlineMs });
        run.drains.push(drain);
        progress(
          `${run.name}: ${jobs} jobs added at ${rate(perSecond(jobs, drain.enqueueMs))}/s, ` +
            `processed at concurrency ${concurrency} at ${rate(perSecond(jobs, drain.processMs))}/s`,
        );
      });
    }
    await eachRun(async (backend, run) => {
      const options = { perSecond: OFFERED_PER_SECOND, durationMs, concurrency: LATENCY_CONCURRENCY, retention: run.retention, deadlineMs };
      run.latency = await offeredLoad(backend, options);
      progress(
        `${run.name}: at ${OFFERED_PER_SECOND}/s, p50 ${ms(run.latency.latency.p50)}, p99 ${ms(run.latency.latency.p99)}; ` +
          `enqueue p50 ${ms(run.latency.enqueue.p50)}, p99 ${ms(run.latency.enqueue.p99)}`,
      );
    });
  } finally {
    for (const backend of backends.values()) await backend.close().catch(() => undefined);
  }
  const costJobs = quick ? 1_000 : 100_000;
  if (process.argv.includes(WITHOUT_COST_RUNS)) {
    progress(`cost runs skipped (${WITHOUT_COST_RUNS})`);
    return report(runs, [], { quick, jobs, durationMs, costJobs, sustainedMs: 0, autovacuumBefore });
  }
  const sustainedMs = quick ? 5_000 : 600_000;
  const costRuns: CostRun[] = [];
  for (const plan of COST_PLANS) costRuns.push(await costRun(plan, { jobs: costJobs, sustainedMs, deadlineMs: quick ? 60_000 : COST_DRAIN_DEADLINE_MS, progress }));
  return report(runs, costRuns, { quick, jobs, durationMs, costJobs, sustainedMs, autovacuumBefore });
}

const isBaseline = (family: Family) => family === 'Valkey' || family === 'Redis';

/**
 * One backend's cost run: a backlog of `jobs` drained at COST_CONCURRENCY, then (table queues) a
 * sustained fixed-rate run, each phase metered. A table queue that fails is reported, not dropped.
 */
async function costRun(
  plan: CostPlan,
  { jobs, sustainedMs, deadlineMs, progress }: { jobs: number; sustainedMs: number; deadlineMs: number; progress: (line: string) => void },
): Promise<CostRun> {
  const run: CostRun = { family: plan.family, color: plan.color, name: plan.family, library: '', detail: '', jobs };
  let backend: QueueBackend | undefined;
  try {
    backend = await plan.start();
    Object.assign(run, { name: backend.name, library: backend.library, detail: backend.detail });
    let open = backend;
    try {
      const drained = await metered(open, () => drainBacklog(open, { jobs, concurrency: COST_CONCURRENCY, retention: 'removed', deadlineMs }));
      [run.drain, run.drainCost] = [drained.result, drained.cost];
      progress(`${run.name}: ${jobs.toLocaleString('en-US')} jobs drained at concurrency ${COST_CONCURRENCY}, ${costLine(drained.cost, jobs)}`);
    } catch (error) {
      if (!(error instanceof PhaseError && error.cause instanceof DrainDeadlineError && error.cost)) throw error;
      // Too slow for the backlog: that is the finding. Its figures so far are reported, and the
      // sustained run still goes ahead, on a fresh database so the backlog left behind is not in it.
      [run.drain, run.drainCost, run.drainMissed] = [error.cause.partial, error.cost, error.cause.message];
      progress(`${run.name}: drain missed its deadline, ${error.cause.message}, ${costLine(error.cost, error.cause.partial.processed)}`);
      await open.close();
      backend = open = await plan.start();
    }
    if (plan.sustained) {
      const options = { perSecond: OFFERED_PER_SECOND, durationMs: sustainedMs, concurrency: LATENCY_CONCURRENCY, retention: 'removed' as const, deadlineMs };
      const sustained = await metered(open, () => offeredLoad(open, options));
      [run.sustained, run.sustainedCost] = [sustained.result, sustained.cost];
      const sent = Math.round((OFFERED_PER_SECOND * sustainedMs) / 1_000);
      progress(`${run.name}: ${(sustainedMs / 60_000).toFixed(1)} min at ${OFFERED_PER_SECOND}/s, p99 ${ms(sustained.result.latency.p99)}, ${costLine(sustained.cost, sent)}`);
    }
  } catch (error) {
    if (isBaseline(plan.family)) throw error;
    const cause = error instanceof PhaseError ? error.cause : error;
    run.error = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    progress(`${run.name}: FAILED: ${run.error}`);
  } finally {
    await backend?.close().catch(() => undefined);
  }
  return run;
}

/** A metered phase that failed, with what it cost up to then when the meter could still be read. */
class PhaseError extends Error {
  override name = 'PhaseError';

  constructor(
    override readonly cause: unknown,
    readonly cost: PhaseCost | undefined,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

/**
 * Runs one phase under a cost meter. The meter is stopped however the phase ends, so that a phase
 * that fails (a deadline missed) leaves no connection open on the database its backend drops.
 */
async function metered<T>(backend: QueueBackend, phase: () => Promise<T>): Promise<{ result: T; cost: PhaseCost }> {
  const meter = await startCostMeter(backend);
  let result: T;
  try {
    result = await phase();
  } catch (error) {
    throw new PhaseError(error, await meter.stop().catch(() => undefined));
  }
  return { result, cost: await meter.stop() };
}

const mib = (bytes: number | undefined) => (bytes === undefined || !Number.isFinite(bytes) ? 'n/a' : `${(bytes / 1_048_576).toFixed(1)} MiB`);
const perThousand = (value: number, jobs: number) => (jobs > 0 ? (value * 1_000) / jobs : Number.NaN);

function costLine(cost: PhaseCost, jobs: number): string {
  const storage = cost.storageAfter;
  return (
    `client CPU ${perThousand(cost.clientCpuMs, jobs).toFixed(0)} ms and server CPU ${perThousand(cost.serverCpuMs, jobs).toFixed(0)} ms per 1,000 jobs` +
    (storage ? `, WAL ${mib(cost.walBytes)}, tables ${mib(storage.tableBytes)} + indexes ${mib(storage.indexBytes)}, ${storage.deadTuples} dead tuples, ${cost.autovacuumRuns ?? 0} autovacuums` : '')
  );
}

function enqueueRate(run: Run): number {
  const jobs = run.drains.reduce((sum, drain) => sum + drain.jobs, 0);
  return perSecond(jobs, run.drains.reduce((sum, drain) => sum + drain.enqueueMs, 0));
}

const times = (value: number) => (Number.isFinite(value) ? `${value.toFixed(1)}×` : 'n/a');

/** How many times Valkey (same retention) outdoes `other`: processing, per concurrency, enqueue, p99. */
function againstValkey(runs: Run[], other: Run) {
  const valkey = runs.find((run) => run.family === 'Valkey' && run.retention === other.retention);
  const each = CONCURRENCIES.map((concurrency) => (valkey ? processRate(valkey, concurrency) : Number.NaN) / processRate(other, concurrency));
  return {
    valkey,
    each,
    processing: Math.exp(each.reduce((sum, ratio) => sum + Math.log(ratio), 0) / each.length),
    enqueue: (valkey ? enqueueRate(valkey) : Number.NaN) / enqueueRate(other),
    p99: (other.latency?.latency.p99 ?? Number.NaN) / (valkey?.latency?.latency.p99 ?? Number.NaN),
  };
}

/** The cost runs' tables: every backend's CPU and memory, then the table queues' storage. */
function costTables(
  costRuns: CostRun[],
  { costJobs, sustainedMs, autovacuumBefore }: { costJobs: number; sustainedMs: number; autovacuumBefore: string },
): string {
  const measured = costRuns.filter((run) => !run.error && run.drain && run.drainCost);
  const jobsText = costJobs.toLocaleString('en-US');
  const minutes = `${(sustainedMs / 60_000).toFixed(sustainedMs < 60_000 ? 2 : 0)} min`;
  const sent = Math.round((OFFERED_PER_SECOND * sustainedMs) / 1_000);
  const cpu = markdownTable(
    ['', 'library', `processed jobs/s (${jobsText} jobs, concurrency ${COST_CONCURRENCY})`, 'client CPU per 1,000 jobs', 'server CPU per 1,000 jobs', 'client peak RSS', 'server peak memory'],
    measured.map((run) => {
      const cost = run.drainCost as PhaseCost;
      const drain = run.drain as DrainResult;
      return [
        run.drainMissed ? `${run.name} (deadline missed)` : run.name,
        run.library,
        `${rate(perSecond(drain.processed, drain.processMs))}`,
        `${perThousand(cost.clientCpuMs, drain.processed).toFixed(0)} ms`,
        `${perThousand(cost.serverCpuMs, drain.processed).toFixed(0)} ms`,
        mib(cost.clientPeakRssBytes),
        mib(cost.serverPeakMemoryBytes),
      ];
    }),
  );
  const tables = measured.filter((run) => run.drainCost?.storageAfter);
  const storageRows = (label: string | ((run: CostRun) => string), cost: (run: CostRun) => PhaseCost | undefined, jobsOf: (run: CostRun) => number): Array<Array<string | number>> =>
    tables.map((run) => {
      const phase = cost(run);
      const storage = phase?.storageAfter;
      const jobsIn = jobsOf(run);
      return [
        `${run.name}, ${typeof label === 'string' ? label : label(run)}`,
        mib(storage?.tableBytes),
        mib(storage?.indexBytes),
        (storage?.liveTuples ?? Number.NaN).toLocaleString('en-US'),
        (storage?.deadTuples ?? Number.NaN).toLocaleString('en-US'),
        phase?.walBytes === undefined ? 'n/a' : `${mib(phase.walBytes)} (${(phase.walBytes / jobsIn / 1_024).toFixed(2)} KiB/job)`,
        `${phase?.autovacuumRuns ?? 'n/a'} / ${phase?.autoanalyzeRuns ?? 'n/a'}`,
      ];
    });
  const storage = markdownTable(
    ['', 'tables', 'indexes', 'live tuples', 'dead tuples', 'WAL written in the phase', 'autovacuum / autoanalyze runs in the phase'],
    [...storageRows((run) => (run.drainMissed ? `at the deadline, ${(run.drain?.processed ?? 0).toLocaleString('en-US')} of ${jobsText} jobs done` : `after ${jobsText} jobs`), (run) => run.drainCost, (run) => run.drain?.processed ?? costJobs), ...storageRows(`after ${minutes} more at ${OFFERED_PER_SECOND}/s`, (run) => run.sustainedCost, () => sent)],
  );
  const sustained = markdownTable(
    ['', 'achieved', 'p50', 'p99', 'max', 'enqueue p99', 'client CPU per 1,000 jobs', 'server CPU per 1,000 jobs'],
    tables.map((run) => [
      run.name,
      `${rate(run.sustained?.achievedPerSecond ?? Number.NaN)} jobs/s`,
      ms(run.sustained?.latency.p50 ?? Number.NaN),
      ms(run.sustained?.latency.p99 ?? Number.NaN),
      ms(run.sustained?.latency.max ?? Number.NaN),
      ms(run.sustained?.enqueue?.p99 ?? Number.NaN),
      `${perThousand(run.sustainedCost?.clientCpuMs ?? Number.NaN, sent).toFixed(0)} ms`,
      `${perThousand(run.sustainedCost?.serverCpuMs ?? Number.NaN, sent).toFixed(0)} ms`,
    ]),
  );
  const failures = costRuns.filter((run) => run.error).map((run) => `${run.name} could not be measured: \`${run.error}\``);
  const misses = measured
    .filter((run) => run.drainMissed)
    .map(
      (run) =>
        `**${run.name} missed the drain's deadline**: ${run.drainMissed}. Its row above is what it did by then: jobs/s and CPU ` +
        `per 1,000 over the jobs it processed (the CPU includes adding all ${jobsText}), and its storage as the deadline left it, ` +
        `${jobsText} added with the rest still queued. Its ${minutes} run started on a fresh database.`,
    );
  const settings = costRuns.map((run) => `- **${run.name}** (${run.library || 'not started'}): ${(run.detail || 'n/a').replace(/\.$/, '')}.`);
  return [
    '## What each backend costs',
    `Each backend again, on a fresh server or database and one at a time: ${jobsText} jobs added and drained by one worker at ` +
      `concurrency ${COST_CONCURRENCY}, completed jobs removed, then for the table queues ${minutes} at a fixed ${OFFERED_PER_SECOND} jobs/s ` +
      `(concurrency ${LATENCY_CONCURRENCY}). CPU is per 1,000 jobs, enqueue and processing together. PostgreSQL's autovacuum ` +
      `was ${autovacuumBefore} before this scenario; every run here had it on (PostgreSQL's default), turned on by ALTER ` +
      'SYSTEM and a reload and put back afterwards, because a table queue relies on it.',
    cpu,
    ...misses,
    '### The table queues: storage, dead tuples, WAL and autovacuum',
    storage,
    `### ${minutes} at ${OFFERED_PER_SECOND} jobs/s`,
    sustained,
    ...failures,
    '### Settings',
    settings.join('\n'),
    [
      '- **Client**: this process, where the producer and the worker both run (`process.cpuUsage`); its peak RSS includes the ' +
        'benchmark\'s own bookkeeping. In the fixed-rate runs it includes the producer\'s 1 ms timer loop, the same for every backend.',
      '- **Server CPU**: Valkey and Redis report their own (`INFO cpu`, every thread). For PostgreSQL, the whole server\'s, read from ' +
        'the postmaster in /proc: its own, what its exited children left it (cutime, cstime) and its live children\'s, so every ' +
        'backend, autovacuum worker, the WAL writer and the checkpointer count, as does anything else the machine\'s PostgreSQL did ' +
        'meanwhile (nothing else ran during the full run).',
      '- **Server memory**: the peak of Valkey\'s and Redis\'s `used_memory_rss`, or for PostgreSQL of the private memory of the ' +
        'database\'s backends together (`/proc/<pid>/smaps_rollup`, not the shared buffers every backend maps), polled every 0.5 s.',
      '- **Storage**: `pg_stat_user_tables` over the backend\'s database (every schema), read 11 s after the phase, once every ' +
        'backend has flushed its counters (an idle one flushes within 10 s); ' +
        '**WAL** from `pg_current_wal_lsn()`, which is the whole server\'s: these runs go one at a time, but anything else writing ' +
        'on the machine\'s PostgreSQL at the same time is counted too.',
    ].join('\n'),
  ].join('\n\n');
}

function report(
  runs: Run[],
  costRuns: CostRun[],
  {
    quick,
    jobs,
    durationMs,
    costJobs,
    sustainedMs,
    autovacuumBefore,
  }: { quick: boolean; jobs: number; durationMs: number; costJobs: number; sustainedMs: number; autovacuumBefore: string },
) {
  const compared = runs.filter((run) => run.family !== 'Valkey' && !run.error);
  const summary = markdownTable(
    ['against Valkey, same retention', 'processing (geometric mean)', ...CONCURRENCIES.map((c) => `concurrency ${c}`), 'enqueue', 'p99 latency'],
    compared.map((run) => {
      const ratio = againstValkey(runs, run);
      return [run.name, `**${times(ratio.processing)}**`, ...ratio.each.map(times), times(ratio.enqueue), times(ratio.p99)];
    }),
  );

  const families = [...new Set(runs.map((run) => run.family))];
  const tables = families.map((family) => {
    const own = runs.filter((run) => run.family === family);
    const cell = (show: (run: Run) => string) => own.map((run) => (run.error ? 'n/a' : show(run)));
    const rows: Array<Array<string | number>> = [
      [`enqueue (addBulk, chunks of 1,000, 3 × ${jobs.toLocaleString('en-US')} jobs)`, ...cell((run) => `${rate(enqueueRate(run))} jobs/s`)],
      ...CONCURRENCIES.map((c) => [`processed, one worker at concurrency ${c}`, ...cell((run) => `${rate(processRate(run, c))} jobs/s`)]),
      [`end-to-end p50 at ${OFFERED_PER_SECOND} jobs/s offered`, ...cell((run) => ms(run.latency?.latency.p50 ?? Number.NaN))],
      ['end-to-end p99', ...cell((run) => ms(run.latency?.latency.p99 ?? Number.NaN))],
      ['end-to-end max', ...cell((run) => ms(run.latency?.latency.max ?? Number.NaN))],
      [`enqueue p50 at ${OFFERED_PER_SECOND} jobs/s (one add, until stored)`, ...cell((run) => ms(run.latency?.enqueue?.p50 ?? Number.NaN))],
      ['enqueue p99', ...cell((run) => ms(run.latency?.enqueue?.p99 ?? Number.NaN))],
      ['offered load achieved', ...cell((run) => `${rate(run.latency?.achievedPerSecond ?? Number.NaN)} jobs/s`)],
    ];
    const failures = own.map((run) => (run.error ? `Could not be measured (${RETENTION_LABEL[run.retention]}): \`${run.error}\`` : ''));
    const detail = own.find((run) => run.detail)?.detail;
    const heading = `### ${own[0]?.name.split(',')[0]}${family.includes('sync') ? ', sync commit off' : ''}`;
    const table = markdownTable(['', ...own.map((run) => RETENTION_LABEL[run.retention])], rows);
    return [heading, detail ? `${detail.replace(/\.$/, '')}.` : '', table, ...failures].filter(Boolean).join('\n\n');
  });

  const markdown = [
    `Each throughput run adds ${jobs.toLocaleString('en-US')} jobs and drains them; the latency run offers ` +
      `${OFFERED_PER_SECOND} jobs/s for ${(durationMs / 1_000).toFixed(0)} s to one worker at concurrency ${LATENCY_CONCURRENCY}.`,
    summary,
    'Valkey\'s jobs/s ÷ the backend\'s, each against Valkey with the same retention (above 1×: Valkey is faster); for latency, ' +
      'the backend\'s p99 ÷ Valkey\'s.',
    ...tables,
    '### How it was measured',
    [
      '- **Workload**: `send-welcome-email` jobs with an id-only payload, the contract\'s job id and options (attempts, priority, ' +
        'retention); the processor parses the payload with the contract\'s zod schema and returns a small result, as a light ' +
        'handler does on the queue\'s side. No provider call and no database write of its own: a real handler\'s PostgreSQL writes ' +
        'would land on the same server as the PostgreSQL backend and measure the handler (pipeline-throughput measures those).',
      '- **Retention**: *completed kept* is the contract\'s (the newest 10,000 completed jobs kept for a day, trimmed at every ' +
        'completion); BullMQ\'s PostgreSQL backend trims with `DELETE … WHERE id NOT IN (SELECT … LIMIT 10000)` on every completion, ' +
        'so its cost grows with the completed jobs kept, and a full backlog of 10,000 only reaches the steady state at its end. ' +
        '*Completed removed* (`removeOnComplete: true`) is what a PostgreSQL deployment would choose.',
      '- **Processed jobs/s**: a backlog added first, then one Worker; from its construction to its last completed event. ' +
        '**Enqueue**: the same backlogs\' `addBulk` time, summed over the three runs.',
      '- **End-to-end latency**: from just before `add` to the worker\'s `completed` event, both in this process (matched by job ' +
        'id); one `add` per job at its turn, the first tenth of the run left out as warm-up.',
      '- Valkey and Redis are private servers with production\'s flags; PostgreSQL is the machine\'s shared server (a throwaway ' +
        'database per run, set up by each library\'s own migrations), which other scenarios may be using at the same time.',
      '- **pg-boss and graphile-worker** are driven through the same interface as BullMQ (bench/harness/pg-boss-backend.ts, ' +
        'graphile-worker-backend.ts): the job id becomes their own deduplication key, the priority and attempts their own; each ' +
        'one\'s settings are listed under *Settings* below.',
    ].join('\n'),
    costRuns.length > 0
      ? costTables(costRuns, { costJobs, sustainedMs, autovacuumBefore })
      : `## What each backend costs\n\nNot measured in this run (\`${WITHOUT_COST_RUNS}\`).`,
  ].join('\n\n');

  const claim = (run: Run | undefined, target: string): TargetCheck => {
    if (!run || run.error) return { target, measured: `not measured: ${run?.error ?? 'no run'}` };
    const ratio = againstValkey(runs, run);
    if (!ratio.valkey || ratio.valkey.error) return { target, measured: 'not measured: no Valkey run to compare with' };
    return {
      target,
      measured:
        `Valkey ÷ ${run.family}: ${times(ratio.processing)} the jobs/s (concurrency 1/10/50: ${ratio.each.map(times).join(', ')}), ` +
        `${times(ratio.enqueue)} the enqueue rate; p99 at ${OFFERED_PER_SECOND}/s ` +
        `${ms(ratio.valkey.latency?.latency.p99 ?? Number.NaN)} vs ${ms(run.latency?.latency.p99 ?? Number.NaN)}`,
      met: quick ? undefined : ratio.processing >= STEEP_RATIO,
    };
  };
  const find = (family: Run['family'], retention: Retention) => runs.find((run) => run.family === family && run.retention === retention);
  const redis = find('Redis', 'kept');
  const targets: TargetCheck[] = [
    claim(
      find('PostgreSQL', 'kept'),
      `confirm or refute: PostgreSQL-backed queues pay a steep cost against Valkey (met = the claim holds: Valkey ≥ ${STEEP_RATIO}× the jobs/s; our jobs' retention)`,
    ),
    claim(find('PostgreSQL', 'removed'), 'the same claim with completed jobs removed, the retention PostgreSQL handles best'),
    claim(find('PostgreSQL, sync commit off', 'removed'), 'the same, completed removed and synchronous_commit off (≈ Valkey\'s fsync every second)'),
    claim(find('pg-boss', 'removed'), 'the same claim for pg-boss, a queue built for PostgreSQL (met = Valkey ≥ 2× its jobs/s)'),
    claim(find('graphile-worker', 'removed'), 'the same claim for graphile-worker, a queue built for PostgreSQL (met = Valkey ≥ 2× its jobs/s)'),
    { ...claim(redis, 'Redis 7 against Valkey 8 (for reference, no target)'), met: undefined },
  ];

  const data = { jobs, durationMs, offeredPerSecond: OFFERED_PER_SECOND, steepRatio: STEEP_RATIO, runs, costJobs, sustainedMs, autovacuumBefore, costRuns };
  return { markdown, targets, charts: backendsCharts(data), data };
}
