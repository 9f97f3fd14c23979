// Issue #8, scenario 1: what a signup costs its user, asynchronous (`POST /api/signups`: save,
// enqueue, answer) against synchronous (`POST /api/signups/sync`: the four provider calls inside
// the request), with the providers up, slow and down. The production build's standalone server and
// one worker process run as in production, so the jobs of every signup are processed while it is
// measured; the mock providers keep their published rate limits, as real ones would.
import { startBenchStack, type BenchStack } from '@/bench/harness/bench-stack';
import { cpuSeconds, startWeb, startWorkers, type AppProcess } from '@/bench/harness/app-processes';
import { markdownTable, type Scenario, type TargetCheck } from '@/bench/harness/scenario';
import { signupRequests, signupsAtRate, type LoadResult, type SignupTarget } from '@/bench/harness/signup-load';
import { ms } from '@/bench/harness/stats';
import { QUEUE_NAMES } from '@/lib/queues';
import { RATIO_MODE, signupLatencyCharts, TARGET_P99_MS, TARGET_RATIO } from '@/bench/scenarios/signup-latency-charts';

/** The rate the target is stated at. */
const RATE_PER_SECOND = 100;
/** Below this share of the rate, "at 100 signups/s" was not what was measured. */
const MIN_RATE_SHARE = 0.95;

const MODES = [
  { label: 'up', fault: { mode: 'up' } },
  { label: 'slow 500 ms', fault: { mode: 'slow', latencyMs: 500 } },
  { label: 'slow 2000 ms', fault: { mode: 'slow', latencyMs: 2_000 } },
  { label: 'down', fault: { mode: 'down' } },
] as const;
type ModeLabel = (typeof MODES)[number]['label'];

/**
 * Full: 20 s of asynchronous load (2,000 signups) per mode, and 40 synchronous signups over 10
 * connections (with slow 2000 ms each takes ~8 s, so 32 s). Quick: a second (100 signups) and 4
 * synchronous ones per mode, the whole scenario in ~25 s.
 */
const SIZES = {
  full: { asyncSeconds: 20, syncRequests: 40, syncConnections: 10 },
  quick: { asyncSeconds: 1, syncRequests: 4, syncConnections: 4 },
};
/** Untimed requests first: the server's first ones compile code paths and open its pools. */
const WARM_UP = { full: { async: 40, sync: 4 }, quick: { async: 10, sync: 2 } };

interface ModeResult {
  mode: ModeLabel | 'up, no worker process';
  sync?: LoadResult;
  async: LoadResult;
  /** Jobs waiting, delayed or running in all four queues once the mode's asynchronous run ended. */
  backlogAfter: number;
  /** CPU used during the asynchronous run, in cores: the web; the worker with its avatar sandboxes. */
  cpu: { web: number; workers: number };
}

export const scenario: Scenario = {
  id: 'signup-latency',
  title: 'Signup latency: asynchronous vs synchronous',
  async run({ quick, progress }) {
    const size = quick ? SIZES.quick : SIZES.full;
    const stack = await startBenchStack();
    try {
      const [web, workers] = await Promise.all([
        startWeb(stack, { label: 'signup-latency' }),
        startWorkers(stack, { label: 'signup-latency' }),
      ]);
      progress(`web (pid ${web.pid}) and one worker process (pid ${workers.pid}) ready; logs: ${web.logFile}, ${workers.logFile}`);
      const asyncPath: SignupTarget = { url: web.url, path: '/api/signups' };
      const syncPath: SignupTarget = { url: web.url, path: '/api/signups/sync' };
      const warmUp = quick ? WARM_UP.quick : WARM_UP.full;
      await Promise.all([
        signupRequests(asyncPath, { amount: warmUp.async, connections: 2 }),
        signupRequests(syncPath, { amount: warmUp.sync, connections: 2 }),
      ]);

      const results: ModeResult[] = [];
      for (const { label, fault } of MODES) {
        await stack.setFault('all', fault);
        const measureSync = () =>
          signupRequests(syncPath, { amount: size.syncRequests, connections: size.syncConnections });
        const measureAsync = () =>
          withCpu([web, workers], () =>
            signupsAtRate(asyncPath, { ratePerSecond: RATE_PER_SECOND, seconds: size.asyncSeconds }),
          );
        // A full run measures each path alone, the synchronous first. Quick overlaps them: one
        // synchronous signup at slow 2000 ms alone takes 8 s of CI's budget, and quick judges nothing.
        const [sync, { result: async, cpu }] = quick
          ? await Promise.all([measureSync(), measureAsync()])
          : [await measureSync(), await measureAsync()];
        const backlogAfter = await backlog(stack);
        progress(`${label}: sync  ${line(sync)}`);
        progress(`${label}: async ${line(async)}; ${backlogAfter} jobs queued; CPU ${cores(cpu)}`);
        results.push({ mode: label, sync, async, backlogAfter, cpu });
      }

      // The same run at `up` with the worker process gone: what the workers' CPU costs the web.
      await stack.setFault('all', { mode: 'up' });
      await workers.stop();
      const { result: alone, cpu } = await withCpu([web, workers], () =>
        signupsAtRate(asyncPath, { ratePerSecond: RATE_PER_SECOND, seconds: size.asyncSeconds }),
      );
      progress(`up, no worker process: async ${line(alone)}; CPU ${cores(cpu)}`);
      results.push({ mode: 'up, no worker process', async: alone, backlogAfter: await backlog(stack), cpu });

      return report(results, quick, size);
    } finally {
      await stack.close();
    }
  },
};

/** What `work` cost each process in CPU, in cores (1 = one core busy throughout). */
async function withCpu<T>(
  [web, workers]: [AppProcess, AppProcess],
  work: () => Promise<T>,
): Promise<{ result: T; cpu: ModeResult['cpu'] }> {
  const used = () => ({
    web: cpuSeconds(web.pid),
    workers: cpuSeconds(workers.pid, { withDescendants: true }),
  });
  const before = used();
  const startedAt = performance.now();
  const result = await work();
  const seconds = (performance.now() - startedAt) / 1_000;
  const after = used();
  // A stopped worker reads 0, and a sandbox that exited takes its CPU time with it: never below 0.
  const share = (key: keyof ModeResult['cpu']) => Math.max(0, after[key] - before[key]) / seconds;
  return { result, cpu: { web: share('web'), workers: share('workers') } };
}

function cores({ web, workers }: ModeResult['cpu']): string {
  return `web ${web.toFixed(2)}, worker ${workers.toFixed(2)} cores`;
}

async function backlog(stack: BenchStack): Promise<number> {
  const counts = await Promise.all(
    QUEUE_NAMES.map((name) => stack.queues[name].getJobCounts('wait', 'prioritized', 'delayed', 'active')),
  );
  return counts.flatMap((byState) => Object.values(byState)).reduce((total, count) => total + count, 0);
}

function report(results: ModeResult[], quick: boolean, size: (typeof SIZES)['full']) {
  const judged = (met: boolean) => (quick ? undefined : met);
  const byMode = (mode: ModeResult['mode']) => results.find((result) => result.mode === mode) as ModeResult;

  const targets: TargetCheck[] = MODES.map(({ label }) => {
    const { async } = byMode(label);
    return {
      target: `async p99 ≤ ${TARGET_P99_MS} ms at ${RATE_PER_SECOND} signups/s, providers ${label}`,
      measured: `${ms(async.latency.p99)} at ${async.throughputPerSecond.toFixed(0)}/s`,
      met: judged(
        async.latency.p99 <= TARGET_P99_MS && async.throughputPerSecond >= RATE_PER_SECOND * MIN_RATE_SHARE,
      ),
    };
  });
  const slowest = byMode(RATIO_MODE);
  const syncP50 = slowest.sync?.latency.p50 ?? Number.NaN;
  const ratio = syncP50 / slowest.async.latency.p50;
  targets.push({
    target: `sync/async p50 ratio ≥ ${TARGET_RATIO}× with ${RATIO_MODE}`,
    measured: `${ratio.toFixed(0)}× (${ms(syncP50)} / ${ms(slowest.async.latency.p50)})`,
    met: judged(ratio >= TARGET_RATIO),
  });
  const down = byMode('down');
  targets.push({
    target: 'async error rate 0 with providers down (sync: its failure rate)',
    measured:
      `async ${percent(down.async.errorRate)} of ${down.async.sent}; ` +
      `sync ${percent(failureRate(down.sync))} failed (502)`,
    met: judged(down.async.errorRate === 0),
  });

  const rows = results.flatMap(({ mode, sync, async, backlogAfter, cpu }) => [
    ...(sync ? [row(mode, 'sync', sync, ['', ''])] : []),
    row(mode, 'async', async, [String(backlogAfter), `${cpu.web.toFixed(2)} / ${cpu.workers.toFixed(2)}`]),
  ]);
  const up = byMode('up');
  const alone = byMode('up, no worker process');
  const markdown = [
    markdownTable(
      ['providers', 'endpoint', 'requests', 'p50', 'p95', 'p99', 'throughput', 'error rate', 'answers']
        .concat(['jobs queued after', 'CPU cores: web / worker']),
      rows,
    ),
    [
      `One web process (the standalone production build) and one worker process serving all four queues at`,
      `production concurrency and rate limits, on a private Valkey 8 and a fresh database; the mock`,
      `providers run with their published rate limits on (SMTP 100/s, CRM 50/s, storage 100/s, analytics`,
      `200/s), as a real account's would. The asynchronous path is driven at a fixed ${RATE_PER_SECOND}`,
      `signups/s for ${size.asyncSeconds} s per mode; the synchronous path with ${size.syncRequests} requests over`,
      `${size.syncConnections} connections, each sent when the previous one is answered (its requests take`,
      `seconds, so a fixed rate would only pile them up).`,
      `In each mode the synchronous requests go first, then the asynchronous run while the worker`,
      `processes its jobs; the backlog a mode leaves (the CRM's 40/s limiter is below 100 signups/s, and`,
      `slow or down providers hold jobs longer) carries into the next, as it would in production.`,
      ...(quick ? ['(This quick run sent the two at the same time, to stay within CI\'s budget.)'] : []),
    ].join('\n'),
    [
      `"answers" counts HTTP statuses. The synchronous path answers 502 when a provider fails, and with`,
      `the limits on it also meets the CRM's 429s whenever it calls it faster than 50/s together with the`,
      `worker, by design: nothing paces a request path. Its error rate is that failure rate.`,
      `Latencies are per request as the load generator saw them, on the same 2 cores as the web, the`,
      `worker, PostgreSQL, Valkey and the mock providers; 100/s is 100 connections of 1/s, evenly staggered.`,
      `A request unanswered after 10 s (60 s for the synchronous path) counts as an error, not in the`,
      `percentiles.`,
      `"CPU cores" is what the web process, and the worker process with its avatar sandboxes, used during`,
      `the asynchronous run: 1.00 is one core busy throughout, of the machine's 2.`,
    ].join('\n'),
    [
      `**Without the worker process** (the same run at \`up\`, worker stopped): async p50`,
      `${ms(up.async.latency.p50)} → ${ms(alone.async.latency.p50)}, p99 ${ms(up.async.latency.p99)} →`,
      `${ms(alone.async.latency.p99)}. ${workerCost(up, alone)}`,
    ].join('\n'),
  ].join('\n\n');

  const data = { ratePerSecond: RATE_PER_SECOND, size, results };
  return { markdown, targets, charts: signupLatencyCharts(data), data };
}

function row(mode: string, endpoint: 'sync' | 'async', result: LoadResult, extra: string[]): Array<string | number> {
  return [
    mode,
    endpoint === 'sync' ? '`POST /api/signups/sync`' : '`POST /api/signups`',
    result.sent,
    ms(result.latency.p50),
    ms(result.latency.p95),
    ms(result.latency.p99),
    `${result.throughputPerSecond.toFixed(1)}/s`,
    percent(result.errorRate),
    answers(result),
    ...extra,
  ];
}

function workerCost(withWorker: ModeResult, alone: ModeResult): string {
  const factor = withWorker.async.latency.p99 / alone.async.latency.p99;
  const cpu =
    `the worker and its avatar sandboxes used ${withWorker.cpu.workers.toFixed(2)} cores, ` +
    `the web ${withWorker.cpu.web.toFixed(2)} (${alone.cpu.web.toFixed(2)} alone)`;
  if (factor >= 1.2) {
    return (
      `On 2 cores the worker competes with the web for CPU (${cpu}), and with it running the p99 is ` +
      `${factor.toFixed(1)}× higher. Given cores of its own, as a separate process can have, the web keeps the lower figure.`
    );
  }
  return `The worker costs the web little at this rate (${cpu}): the p99 with it running is ${factor.toFixed(1)}× the p99 without.`;
}

function failureRate(result: LoadResult | undefined): number {
  return result && result.sent > 0 ? (result.statuses['502'] ?? 0) / result.sent : Number.NaN;
}

function answers(result: LoadResult): string {
  const statuses = Object.entries(result.statuses).map(([status, count]) => `${count}× ${status}`);
  return [...statuses, ...(result.unanswered > 0 ? [`${result.unanswered} unanswered`] : [])].join(', ');
}

function line({ sent, latency, throughputPerSecond, errorRate }: LoadResult): string {
  return (
    `${sent} requests, p50 ${ms(latency.p50)}, p99 ${ms(latency.p99)}, ` +
    `${throughputPerSecond.toFixed(1)}/s, errors ${percent(errorRate)}`
  );
}

function percent(share: number): string {
  if (!Number.isFinite(share)) return 'n/a';
  return share === 0 ? '0%' : `${(share * 100).toFixed(share < 0.01 ? 2 : 1)}%`;
}
