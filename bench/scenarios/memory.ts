// Memory under a fixed 100 signups/s for five minutes (open loop: each request sent on schedule).
// The resident memory of the web process, the worker process and the worker's avatar sandboxes
// (BullMQ forks one child process per concurrent avatar job; they are separate processes with
// memory of their own), and Valkey's used_memory, sampled as the load runs; then whether each
// grows. The same production processes as the efficiency scenario, the mock providers in their own
// process with their published rate limits on.
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, startBenchStack, type BenchStack } from '@/bench/harness/bench-stack';
import { descendantPids, rssBytes, startWeb, startWorkers } from '@/bench/harness/app-processes';
import { markdownTable, type Scenario } from '@/bench/harness/scenario';
import { openLoop, type OpenLoopResult } from '@/bench/harness/open-loop';
import { signupRequests } from '@/bench/harness/signup-load';
import { ms } from '@/bench/harness/stats';
import { QUEUE_NAMES } from '@/lib/queues';
import { MB, memoryCharts, RSS_SERIES, TARGET_MB } from '@/bench/scenarios/memory-charts';

const RATE_PER_SECOND = 100;
/** Mean of the last window within this share of the first one's counts as flat. */
const FLAT_WITHIN = 0.1;
/**
 * Full: the five minutes, sampled every 5 s, windows of a minute. Quick checks the harness
 * only; 3 s, since on 2 cores the web answers slower than 100/s while the worker runs, the load
 * stretches, and quick has ~15 s of CI's budget.
 */
const SIZES = {
  full: { seconds: 300, sampleEveryMs: 5_000, windowSeconds: 60 },
  quick: { seconds: 3, sampleEveryMs: 500, windowSeconds: 1 },
};
type Size = (typeof SIZES)['full'];

interface Sample {
  /** Seconds since the load started. */
  t: number;
  web: number;
  worker: number;
  /** Every process below the worker, summed: its avatar sandboxes. */
  sandboxes: number;
  sandboxCount: number;
  valkey: number;
  /** V8 heap in use, from each process's Prometheus metrics: what of its RSS is JavaScript data. */
  webHeap: number;
  workerHeap: number;
}
type Series = Exclude<keyof Sample, 't' | 'sandboxCount'>;

/** The charted series (memory-charts.ts), then the heap rows, which are tabled only. */
const ALL_SERIES: Array<{ key: Series; name: string }> = [
  ...RSS_SERIES,
  { key: 'webHeap', name: 'web process V8 heap used' },
  { key: 'workerHeap', name: 'worker process V8 heap used' },
];

interface Load extends OpenLoopResult {
  /** Jobs waiting, delayed or running per queue when the load ended. */
  backlog: Record<string, number>;
}

export const scenario: Scenario = {
  id: 'memory',
  title: 'Memory under steady load',
  async run({ quick, progress }) {
    const size = quick ? SIZES.quick : SIZES.full;
    const stack = await startBenchStack({ mocksInOwnProcess: true });
    try {
      // The worker's own /metrics (WORKER_METRICS_PORT) is on here: its heap figures explain its RSS.
      const metricsPort = await freePort();
      const [web, workers] = await Promise.all([
        startWeb(stack, { label: 'memory' }),
        startWorkers(stack, { label: 'memory', env: { WORKER_METRICS_PORT: String(metricsPort) } }),
      ]);
      const pids = { web: web.pid, worker: workers.pid };
      const metricsUrls = { web: `${web.url}/api/metrics`, worker: `http://127.0.0.1:${metricsPort}/metrics` };
      progress(`web (pid ${web.pid}) and one worker process (pid ${workers.pid}) ready`);
      const signups = { url: web.url, path: '/api/signups' };
      await signupRequests(signups, { amount: quick ? 10 : 40, connections: 4 });

      const samples: Sample[] = [];
      const started = performance.now();
      let loading = true;
      let sent = 0;
      const body = () => {
        sent += 1;
        return { name: `Memory ${sent}`, email: `memory-${process.pid}-${Date.now()}-${sent}@example.com` };
      };
      const load = openLoop({ ...signups, ratePerSecond: RATE_PER_SECOND, seconds: size.seconds, body }).finally(() => {
        loading = false;
      });
      load.catch(() => undefined); // awaited after the sampling, which rethrows a failure
      for (let next = 0; loading || next === 0; next += size.sampleEveryMs) {
        await sleep(Math.max(0, started + next - performance.now()));
        if (!loading && next > 0) break;
        const sample = await sampleMemory(stack, pids, metricsUrls, (performance.now() - started) / 1_000);
        samples.push(sample);
        if (!quick && next % 30_000 === 0) progress(`${sample.t.toFixed(0)} s: ${describe(sample)}`);
      }
      const result = await load;
      const last = samples.at(-1) as Sample;
      progress(
        `${result.sent} signups at ${result.offeredPerSecond.toFixed(1)}/s, p99 ${ms(result.latency.p99)}; ` +
          `last sample: ${describe(last)}`,
      );
      return report(samples, { quick, size, load: { ...result, backlog: await backlogByQueue(stack) } });
    } finally {
      await stack.close();
    }
  },
};

async function sampleMemory(
  stack: BenchStack,
  pids: { web: number; worker: number },
  metricsUrls: { web: string; worker: string },
  t: number,
): Promise<Sample> {
  const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);
  const sandboxes = descendantPids(pids.worker).map(rssBytes);
  const [info, webHeap, workerHeap] = await Promise.all([
    stack.probe.info('memory'),
    heapUsed(metricsUrls.web),
    heapUsed(metricsUrls.worker),
  ]);
  return {
    t,
    web: rssBytes(pids.web) + sum(descendantPids(pids.web).map(rssBytes)),
    worker: rssBytes(pids.worker),
    sandboxes: sum(sandboxes),
    sandboxCount: sandboxes.filter((bytes) => bytes > 0).length,
    valkey: Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? Number.NaN),
    webHeap,
    workerHeap,
  };
}

/** prom-client's nodejs_heap_size_used_bytes; NaN when the scrape fails (a busy process, say). */
async function heapUsed(url: string): Promise<number> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return Number(/^nodejs_heap_size_used_bytes (\S+)/m.exec(await response.text())?.[1] ?? Number.NaN);
  } catch {
    return Number.NaN;
  }
}


async function backlogByQueue(stack: BenchStack): Promise<Record<string, number>> {
  const entries = await Promise.all(
    QUEUE_NAMES.map(async (name) => {
      const counts = await stack.queues[name].getJobCounts('wait', 'prioritized', 'delayed', 'active');
      return [name, Object.values(counts).reduce((total, count) => total + count, 0)] as const;
    }),
  );
  return Object.fromEntries(entries);
}

interface Growth {
  first: number;
  last: number;
  /** last / first − 1 */
  change: number;
  flat: boolean;
}

/**
 * The mean of the last window against the mean of the window starting at `fromSeconds`: from 0,
 * the first minute against the last; one window later leaves out the start-up, where
 * pools, caches and the JIT fill, and asks whether memory still climbs once the load has settled.
 */
function growthOf(samples: Sample[], key: Series, windowSeconds: number, fromSeconds: number): Growth {
  const end = samples.at(-1)?.t ?? 0;
  const meanOf = (from: number, to: number) => {
    const known = samples
      .filter((sample) => sample.t >= from && sample.t < to)
      .map((sample) => sample[key])
      .filter(Number.isFinite);
    return known.length > 0 ? known.reduce((total, value) => total + value, 0) / known.length : Number.NaN;
  };
  const first = meanOf(fromSeconds, fromSeconds + windowSeconds);
  const last = meanOf(end - windowSeconds, Number.POSITIVE_INFINITY);
  const change = first > 0 ? last / first - 1 : Number.NaN;
  return { first, last, change, flat: Math.abs(change) <= FLAT_WITHIN };
}

function report(samples: Sample[], { quick, size, load }: { quick: boolean; size: Size; load: Load }) {
  const growthFrom = (fromSeconds: number): Record<Series, Growth> =>
    Object.fromEntries(
      ALL_SERIES.map(({ key }) => [key, growthOf(samples, key, size.windowSeconds, fromSeconds)]),
    ) as Record<Series, Growth>;
  const growth = growthFrom(0);
  const settled = growthFrom(size.windowSeconds);
  const max = (key: Series) => Math.max(...samples.map((sample) => sample[key]).filter(Number.isFinite));
  const window = size.windowSeconds === 60 ? 'minute' : `${size.windowSeconds} s`;
  const rows = ALL_SERIES.map(({ key, name }) => [
    name,
    mb(samples[0]?.[key] ?? Number.NaN),
    mb(samples.at(-1)?.[key] ?? Number.NaN),
    mb(max(key)),
    `${mb(growth[key].first)} → ${mb(growth[key].last)}`,
    trend(growth[key]),
    trend(settled[key]),
  ]);
  const sandboxCount = Math.max(...samples.map((sample) => sample.sandboxCount));
  const backlogTotal = Object.values(load.backlog).reduce((total, count) => total + count, 0);
  const backlog = Object.entries(load.backlog).map(([queue, count]) => `${queue} ${count}`);

  const markdown = [
    markdownTable(
      ['', 'start', 'end', 'max', `mean, first → last ${window}`, 'growth', `growth from the second ${window}`],
      rows,
    ),
    [
      `${load.sent} signups at a fixed ${RATE_PER_SECOND}/s for ${size.seconds} s, open loop (error rate`,
      `${(load.errorRate * 100).toFixed(2)}%, p50 ${ms(load.latency.p50)}, p99`,
      `${ms(load.latency.p99)}), against the standalone production build and one worker process serving`,
      `all four queues, sampled every ${size.sampleEveryMs / 1_000} s: VmRSS from /proc for the processes, INFO memory's`,
      `used_memory for Valkey. "Flat" means the mean of the last ${window} is within ${FLAT_WITHIN * 100}% of the first's;`,
      `the last column, by which the targets are judged, compares it with the second ${window}'s instead, past`,
      `the start-up, where pools, caches and the JIT fill. The avatar sandboxes are the worker's child`,
      `processes, one per concurrent avatar job (${sandboxCount} at most here), each a Node.js process with sharp`,
      `loaded; they are listed apart and not counted in the worker process's figure. The V8 heap rows are`,
      `each process's nodejs_heap_size_used_bytes (prom-client, from /api/metrics and the worker's`,
      `/metrics): the part of its RSS that is JavaScript objects, where a leak would show.`,
    ].join('\n'),
    [
      `Jobs still queued at the end: ${backlog.join(', ')}. The providers keep their published rate limits`,
      `and the workers' limiters stay below them (CRM 40/s, email 80/s), so at ${RATE_PER_SECOND} signups/s those`,
      `queues fall behind by design, and Valkey's memory grows with the ${backlogTotal} jobs waiting in it: it is`,
      `memory for the backlog, returned as it drains, not a leak.`,
    ].join('\n'),
  ].join('\n\n');

  const data = { ratePerSecond: RATE_PER_SECOND, size, samples, growth, settled, load };
  return {
    markdown,
    targets: [
      {
        target: `web RSS ≤ ${TARGET_MB.web} MB and flat over ${size.seconds} s at ${RATE_PER_SECOND}/s`,
        measured: `max ${mb(max('web'))}, ${trend(settled.web)} after the first ${window} (${trend(growth.web)} from the start)`,
        met: quick ? undefined : max('web') <= TARGET_MB.web * MB && settled.web.flat,
      },
      {
        target: `worker RSS ≤ ${TARGET_MB.worker} MB and flat; avatar sandboxes on their own line`,
        measured:
          `max ${mb(max('worker'))}, ${trend(settled.worker)} after the first ${window} (${trend(growth.worker)} from the start); ` +
          `its avatar sandboxes ${mb(max('sandboxes'))} more (${sandboxCount} processes)`,
        met: quick ? undefined : max('worker') <= TARGET_MB.worker * MB && settled.worker.flat,
      },
    ],
    charts: memoryCharts(data),
    data,
  };
}

function trend(growth: Growth): string {
  if (!Number.isFinite(growth.change)) return 'n/a';
  const change = `${growth.change >= 0 ? '+' : ''}${(growth.change * 100).toFixed(1)}%`;
  return growth.flat ? `flat (${change})` : `${growth.change > 0 ? 'grows' : 'shrinks'} ${change}`;
}

function describe(sample: Sample): string {
  return (
    `web ${mb(sample.web)}, worker ${mb(sample.worker)}, ` +
    `sandboxes ${mb(sample.sandboxes)} (${sample.sandboxCount}), Valkey ${mb(sample.valkey)}`
  );
}

function mb(bytes: number): string {
  return Number.isFinite(bytes) ? `${(bytes / MB).toFixed(1)} MB` : 'n/a';
}
