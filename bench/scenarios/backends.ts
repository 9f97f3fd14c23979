// Issue #8, scenario 5: the same enqueue-and-process workload on BullMQ with Valkey 8, with the
// machine's Redis 7, and with BullMQ 6's PostgreSQL backend, to confirm or refute the claim that
// queues kept in PostgreSQL pay a steep cost against Valkey. The workload and its two retentions
// are in bench/harness/backend-workload.ts: the contract's (completed jobs kept, trimmed to 10,000,
// which PostgreSQL pays for at every completion) and completed jobs removed. A last run turns
// PostgreSQL's synchronous_commit off, about the durability Valkey's once-a-second fsync gives, to
// show what the per-commit WAL flush costs.
//
// Every run has its own server or database, all started up front, and each measurement goes round
// the runs in turn (concurrency 1 on each, then 10 on each, ...), so the load the other scenarios
// put on this machine falls on all of them alike rather than on whichever ran in a busy minute.
import { drainBacklog, offeredLoad, type DrainResult, type LatencyResult, type Retention } from '@/bench/harness/backend-workload';
import { startKeyValueBackend, startPostgresBackend, type QueueBackend } from '@/bench/harness/queue-backends';
import { markdownTable, type Scenario, type TargetCheck } from '@/bench/harness/scenario';
import { ms } from '@/bench/harness/stats';
import { barChart, type Bar } from '@/bench/harness/svg-chart';
import { perSecond, rate } from '@/bench/harness/throughput';

const CONCURRENCIES = [1, 10, 50] as const;
const OFFERED_PER_SECOND = 200;
/** Between our network queues' 5 and 20: a worker that is neither starved nor idle. */
const LATENCY_CONCURRENCY = 10;
/**
 * "Steep": Valkey processes at least twice the jobs per second (geometric mean over the three
 * concurrencies). BullMQ's own guide expects 1.5–2× on a laptop; beyond 2× the cost would change
 * what a team should choose.
 */
const STEEP_RATIO = 2;

const RETENTION_LABEL: Record<Retention, string> = { kept: 'completed kept (contract)', removed: 'completed removed' };

interface RunPlan {
  /** Runs with the same family share a table. */
  family: 'Valkey' | 'Redis' | 'PostgreSQL' | 'PostgreSQL, sync commit off';
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
];

interface Run {
  family: RunPlan['family'];
  retention: Retention;
  color: string;
  name: string;
  detail: string;
  /** Why it could not be measured (PostgreSQL only: Valkey and Redis are the baseline). */
  error?: string;
  drains: DrainResult[];
  latency?: LatencyResult;
}

export const scenario: Scenario = {
  id: 'backends',
  title: 'Backends: Valkey 8, Redis 7 and PostgreSQL under BullMQ',
  async run({ quick, progress }) {
    const jobs = quick ? 300 : 10_000;
    const durationMs = quick ? 1_000 : 20_000;
    const deadlineMs = quick ? 20_000 : 600_000;
    const runs: Run[] = [];
    const backends = new Map<Run, QueueBackend>();
    const fail = (run: Run, error: unknown) => {
      if (!run.family.startsWith('PostgreSQL')) throw error;
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
        const run: Run = { ...plan, name: `${plan.family}, ${RETENTION_LABEL[plan.retention]}`, detail: '', drains: [] };
        runs.push(run);
        try {
          const backend = await plan.start();
          Object.assign(run, { name: `${backend.name}, ${RETENTION_LABEL[plan.retention]}`, detail: backend.detail });
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
        progress(`${run.name}: at ${OFFERED_PER_SECOND}/s, p50 ${ms(run.latency.latency.p50)}, p99 ${ms(run.latency.latency.p99)}`);
      });
    } finally {
      for (const backend of backends.values()) await backend.close().catch(() => undefined);
    }
    return report(runs, { quick, jobs, durationMs });
  },
};

function enqueueRate(run: Run): number {
  const jobs = run.drains.reduce((sum, drain) => sum + drain.jobs, 0);
  return perSecond(jobs, run.drains.reduce((sum, drain) => sum + drain.enqueueMs, 0));
}

function processRate(run: Run, concurrency: number): number {
  const drain = run.drains.find((result) => result.concurrency === concurrency);
  return drain ? perSecond(drain.jobs, drain.processMs) : Number.NaN;
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

function report(runs: Run[], { quick, jobs, durationMs }: { quick: boolean; jobs: number; durationMs: number }) {
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
      ['offered load achieved', ...cell((run) => `${rate(run.latency?.achievedPerSecond ?? Number.NaN)} jobs/s`)],
    ];
    const failures = own.map((run) => (run.error ? `Could not be measured (${RETENTION_LABEL[run.retention]}): \`${run.error}\`` : ''));
    const detail = own.find((run) => run.detail)?.detail;
    const heading = `### ${own[0]?.name.split(',')[0]}${family.includes('sync') ? ', sync commit off' : ''}`;
    const table = markdownTable(['', ...own.map((run) => RETENTION_LABEL[run.retention])], rows);
    return [heading, detail ? `${detail}.` : '', table, ...failures].filter(Boolean).join('\n\n');
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
        'database per run, migrated by the backend\'s own `runMigrations`), which other scenarios may be using at the same time.',
    ].join('\n'),
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
    { ...claim(redis, 'Redis 7 against Valkey 8 (for reference, no target)'), met: undefined },
  ];

  const measured = runs.filter((run) => !run.error);
  // Short names, so that six fit the chart's width in two rows.
  const legendOf = (subset: Run[]) =>
    subset.map((run) => ({ name: `${run.family.replace('PostgreSQL', 'PG')}, ${run.retention}`, color: run.color }));
  const processedChart = (retention: Retention) => {
    const subset = measured.filter((run) => run.retention === retention);
    const bars: Bar[] = CONCURRENCIES.flatMap((c) => subset.map((run) => ({ label: `c${c}`, value: processRate(run, c), color: run.color })));
    return {
      name: `processed-${retention}`,
      caption: `Processed jobs/s at worker concurrency 1, 10 and 50, ${RETENTION_LABEL[retention]}`,
      svg: barChart({ title: `Processed jobs/s, ${RETENTION_LABEL[retention]}`, unit: '', bars, legend: legendOf(subset) }),
    };
  };
  const latencyBars: Bar[] = (['p50', 'p99'] as const).flatMap((at) =>
    measured.flatMap((run) => (run.latency ? [{ label: at, value: run.latency.latency[at], color: run.color }] : [])),
  );
  return {
    markdown,
    targets,
    charts: [
      processedChart('kept'),
      processedChart('removed'),
      {
        name: 'latency',
        caption: `End-to-end latency at ${OFFERED_PER_SECOND} jobs/s offered`,
        svg: barChart({ title: `Enqueue to completion at ${OFFERED_PER_SECOND} jobs/s offered`, unit: 'ms', bars: latencyBars, legend: legendOf(measured) }),
      },
    ],
    data: { jobs, durationMs, offeredPerSecond: OFFERED_PER_SECOND, steepRatio: STEEP_RATIO, runs },
  };
}
