// Every counter an alert rule or a dashboard panel queries has its series at 0 on a process's first
// scrape: read from a worker process started for this test (workers/main.ts, what
// `npm run workers` runs) and from the web's GET /api/metrics. A series that appears only with
// its first event leaves the panel on "No data" until then, and increase() never sees that event
// (infra/prometheus/tests/admin-password-guessing.yml shows it).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_NAMES, QUEUE_PROVIDERS } from '@/lib/queues';
import { createMetrics } from '@/lib/metrics';
import { ALL_JOBS } from '@/workers/jobs/job-contracts';
import { equalityMatchers, family, groupingLabels, metricNames, queriedExpressions } from '@/tests/helpers/promql';
import { startTestStack, waitFor, type TestStack } from '@/tests/helpers/test-stack';
import { freePort } from '@/tests/helpers/valkey-process';
import { startWorkerProcess, type WorkerProcess } from '@/tests/helpers/worker-process';

type Labels = Record<string, string>;

const jobs: Labels[] = ALL_JOBS.map((contract) => ({ queue: contract.queue, job: contract.name }));
const providers = [...new Set(Object.values(QUEUE_PROVIDERS))];
const cross = (sets: Labels[], label: string, values: readonly string[]): Labels[] =>
  sets.flatMap((set) => values.map((value) => ({ ...set, [label]: value })));

/**
 * Each counter's series a fresh process must export, from what the code can count: every job,
 * queue and provider there is, and each counter's reasons, kinds, paths and outcomes.
 */
const EXPECTED: Record<string, Labels[]> = {
  signup_job_retries_total: jobs,
  signup_dead_letters_total: jobs,
  signup_jobs_deduplicated_total: jobs,
  signup_job_rate_limited_total: cross(jobs, 'reason', ['breaker_open', 'provider_rate_limited', 'tenant_concurrency', 'tenant_rate']),
  signup_jobs_cancelled_total: cross(
    QUEUE_NAMES.map((queue) => ({ queue })),
    'reason',
    ['operator', 'shutdown'],
  ),
  signup_breaker_transitions_total: providers.flatMap((provider) =>
    [['closed', 'open'], ['open', 'half-open'], ['half-open', 'closed'], ['half-open', 'open']].map(([from = '', to = '']) => ({
      provider,
      from,
      to,
    })),
  ),
  signup_outbox_dispatch_failures_total: [{ path: 'fast' }, { path: 'relay' }],
  signup_reconciler_repairs_total: [{ kind: 'reenqueued' }, { kind: 'dead_letter_written' }],
  signup_admin_login_failures_total: [{ outcome: 'wrong' }, { outcome: 'throttled' }],
  signup_outbox_marks_unwritten_total: [{}],
  signup_analytics_events_shed_total: [{}],
  signup_rate_budget_fallbacks_total: [{}],
};

/** The app's counters, by name, with their label names. */
const counters = new Map(
  createMetrics()
    .registry.getMetricsAsArray()
    .filter((metric) => (metric as unknown as { type: string }).type === 'counter')
    .map((metric) => [metric.name, (metric as unknown as { labelNames: string[] }).labelNames]),
);
const exported = new Set(counters.keys());

/** The counters the rules and the dashboard query. */
const queried = [
  ...new Set(
    queriedExpressions().flatMap(({ expr }) =>
      metricNames(expr)
        .map((name) => family(name, exported))
        .filter((name) => counters.has(name)),
    ),
  ),
];

function samples(text: string): Array<{ name: string; labels: Labels; value: number }> {
  return text.split('\n').flatMap((line) => {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match?.[1] || match[3] === undefined) return [];
    const labels = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, key, value]) => [key, value]));
    return [{ name: match[1], labels, value: Number(match[3]) }];
  });
}

/** The expected series missing from an exposition, or not at 0, as readable lines. */
function missingZeroSeries(text: string): string[] {
  const all = samples(text);
  return queried.flatMap((name) =>
    (EXPECTED[name] ?? []).flatMap((labels) => {
      const found = all.find(
        (sample) =>
          sample.name === name &&
          Object.keys(sample.labels).length === Object.keys(labels).length &&
          Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
      );
      return found?.value === 0 ? [] : [`${name}${JSON.stringify(labels)}: ${found ? found.value : 'missing'}`];
    }),
  );
}

describe('the counters the rules and the dashboard query', () => {
  it('are known here, with the labels the expressions group and match by', () => {
    expect(queried.length).toBeGreaterThan(5);
    expect(queried.filter((name) => !(name in EXPECTED))).toEqual([]);
    for (const { source, expr } of queriedExpressions()) {
      const named = metricNames(expr).filter((name) => counters.has(name));
      if (named.length === 0) continue;
      // Prometheus's own labels; a metric's `job` arrives as exported_job.
      const labels = new Set([...named.flatMap((name) => counters.get(name) ?? []), 'job', 'instance', 'exported_job']);
      for (const label of groupingLabels(expr)) expect(labels.has(label), `${source}: by ${label}`).toBe(true);
      for (const { metric, label, value } of equalityMatchers(expr)) {
        if (!counters.has(metric)) continue;
        expect(EXPECTED[metric]?.some((set) => set[label] === value), `${source}: ${metric}{${label}="${value}"}`).toBe(true);
      }
    }
  });
});

describe('a worker process, on its first scrape', () => {
  let stack: TestStack;
  let worker: WorkerProcess | undefined;
  let port: number;

  beforeAll(async () => {
    stack = await startTestStack();
    port = await freePort();
    worker = await startWorkerProcess(stack.config, { WORKER_METRICS_PORT: String(port) });
  }, 60_000);
  afterAll(async () => {
    if (worker && worker.child.exitCode === null) {
      worker.child.kill('SIGTERM');
      await worker.exited();
    }
    await stack?.close();
  });

  it('exports every one of them at 0, for every job, queue, provider, reason, kind, path and outcome', async () => {
    const token = stack.config.metrics.token;
    const response = await waitFor(
      () => fetch(`http://127.0.0.1:${port}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} }).catch(() => undefined),
      { what: 'the worker’s /metrics' },
    );
    expect(response.status).toBe(200);
    expect(missingZeroSeries(await response.text())).toEqual([]);
  });
});

describe('the web, on its first scrape', () => {
  it('exports every one of them at 0 through GET /api/metrics', async () => {
    const [{ GET }, { webRuntime }] = await Promise.all([import('@/app/api/metrics/route'), import('@/app/_web/web-runtime')]);
    try {
      await waitFor(() => webRuntime().valkey.status === 'ready', { what: 'the web runtime connected' });
      const { config } = await import('@/lib/config');
      const token = config().metrics.token;
      const response = await GET(new Request('http://app.test/api/metrics', { headers: token ? { authorization: `Bearer ${token}` } : {} }));
      expect(response.status).toBe(200);
      expect(missingZeroSeries(await response.text())).toEqual([]);
    } finally {
      webRuntime().valkey.disconnect();
      await webRuntime().db.$disconnect();
    }
  });
});
