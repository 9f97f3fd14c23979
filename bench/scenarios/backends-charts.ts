// The backends scenario's charts and the rate they share with its report, from the data it saves:
// processed jobs/s per backend at each concurrency, for each retention, end-to-end latency, and
// the CPU each backend spends per job.
// Apart from backends.ts so that bench/render-charts.ts can draw a saved run again without
// starting anything.
import type { DrainResult, LatencyResult, Retention } from '@/bench/harness/backend-workload';
import type { Chart } from '@/bench/harness/scenario';
import { barChart, type Bar } from '@/bench/harness/svg-chart';
import { perSecond } from '@/bench/harness/throughput';

export const CONCURRENCIES = [1, 10, 50] as const;
export const RETENTION_LABEL: Record<Retention, string> = { kept: 'completed kept (contract)', removed: 'completed removed' };

/** What the charts read of one run in the scenario's saved data. */
export interface ChartedRun {
  family: string;
  retention: Retention;
  color: string;
  /** Why it could not be measured; such a run is left out of the charts. */
  error?: string;
  drains: DrainResult[];
  latency?: LatencyResult;
}

/** What the cost chart reads of one cost run (backends.ts); saved runs from before it have none. */
export interface ChartedCostRun {
  family: string;
  color: string;
  error?: string;
  jobs: number;
  /** The jobs the drain processed; fewer than `jobs` when it missed its deadline (`drainMissed`). */
  drain?: { processed?: number };
  drainMissed?: string;
  drainCost?: { clientCpuMs: number; serverCpuMs: number };
}

export interface BackendsChartData {
  offeredPerSecond: number;
  runs: ChartedRun[];
  costRuns?: ChartedCostRun[];
}

export function processRate(run: Pick<ChartedRun, 'drains'>, concurrency: number): number {
  const drain = run.drains.find((result) => result.concurrency === concurrency);
  return drain ? perSecond(drain.jobs, drain.processMs) : Number.NaN;
}

export function backendsCharts({ offeredPerSecond, runs, costRuns = [] }: BackendsChartData): Chart[] {
  const measured = runs.filter((run) => !run.error);
  // Short names, so that six fit the chart's width in two rows.
  const legendOf = (subset: ChartedRun[]) =>
    subset.map((run) => ({ name: `${run.family.replace('PostgreSQL', 'PG')}, ${run.retention}`, color: run.color }));
  const processedChart = (retention: Retention): Chart => {
    const subset = measured.filter((run) => run.retention === retention);
    const bars: Bar[] = CONCURRENCIES.flatMap((c) => subset.map((run) => ({ label: `concurrency ${c}`, value: processRate(run, c), color: run.color })));
    return {
      name: `processed-${retention}`,
      caption: `Processed jobs/s at worker concurrency 1, 10 and 50, ${RETENTION_LABEL[retention]}`,
      svg: barChart({ title: `Processed jobs/s, ${RETENTION_LABEL[retention]}`, unit: 'jobs/s', bars, legend: legendOf(subset) }),
    };
  };
  const latencyBars: Bar[] = (['p50', 'p99'] as const).flatMap((at) =>
    measured.flatMap((run) => (run.latency ? [{ label: at, value: run.latency.latency[at], color: run.color }] : [])),
  );
  const costed = costRuns.filter((run) => !run.error && run.drainCost);
  const cpuBars: Bar[] = (['client', 'server'] as const).flatMap((side) =>
    costed.map((run) => {
      const cost = run.drainCost as NonNullable<ChartedCostRun['drainCost']>;
      // Per job processed, as the report's table: a drain that missed its deadline did fewer.
      const jobs = run.drain?.processed ?? run.jobs;
      return { label: `${side} CPU`, value: ((side === 'client' ? cost.clientCpuMs : cost.serverCpuMs) * 1_000) / jobs, color: run.color };
    }),
  );
  const costChart: Chart[] = costed.length
    ? [
        {
          name: 'cpu-per-job',
          caption: 'CPU per 1,000 jobs, enqueue and processing, client process and server (log scale)',
          svg: barChart({
            title: 'CPU ms per 1,000 jobs',
            unit: 'ms',
            logScale: true,
            bars: cpuBars,
            legend: costed.map((run) => ({
              name: `${run.family.replace('PostgreSQL', 'BullMQ on PG')}${run.drainMissed ? ' (to its deadline)' : ''}`,
              color: run.color,
            })),
          }),
        },
      ]
    : [];
  return [
    processedChart('kept'),
    processedChart('removed'),
    ...costChart,
    {
      name: 'latency',
      caption: `End-to-end latency at ${offeredPerSecond} jobs/s offered (log scale)`,
      svg: barChart({
        title: `Enqueue to completion at ${offeredPerSecond} jobs/s offered`,
        // Log: PostgreSQL with completed jobs kept is hundreds of times slower than the rest.
        unit: 'ms',
        logScale: true,
        bars: latencyBars,
        legend: legendOf(measured),
      }),
    },
  ];
}
