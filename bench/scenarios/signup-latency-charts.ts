// The signup-latency scenario's charts, from the data it saves: the p50 of both paths per provider
// mode, and the asynchronous p99 against its target. Apart from signup-latency.ts so that
// bench/render-charts.ts can draw a saved run again without starting anything.
import type { Chart } from '@/bench/harness/scenario';
import { barChart, type Bar } from '@/bench/harness/svg-chart';

/** The targets: async p99 at 100 signups/s, and how much slower the synchronous path is. */
export const TARGET_P99_MS = 50;
export const TARGET_RATIO = 100;
/** The mode the ratio is judged at: the slowest providers. */
export const RATIO_MODE = 'slow 2000 ms';

const ASYNC_COLOR = '#2563eb';
const SYNC_COLOR = '#dc2626';

/** What the charts read of the scenario's saved data. */
export interface SignupLatencyChartData {
  ratePerSecond: number;
  results: Array<{
    mode: string;
    /** Absent for the run without a worker process, which measured the asynchronous path only. */
    sync?: { latency: { p50: number } };
    async: { latency: { p50: number; p99: number } };
  }>;
}

export function signupLatencyCharts({ ratePerSecond, results }: SignupLatencyChartData): Chart[] {
  const both = results.filter((result) => result.sync);
  const p50: Bar[] = both.flatMap(({ mode, sync, async }) => [
    { label: mode, value: async.latency.p50, color: ASYNC_COLOR },
    { label: mode, value: sync?.latency.p50 ?? Number.NaN, color: SYNC_COLOR },
  ]);
  const slowest = both.findIndex((result) => result.mode === RATIO_MODE);
  const slowestAsync = both[slowest]?.async.latency.p50 ?? Number.NaN;
  return [
    {
      name: 'p50',
      caption: 'Signup p50 latency per provider mode: asynchronous (blue) vs synchronous (red), log scale',
      svg: barChart({
        title: 'Signup p50 by provider mode',
        unit: 'ms',
        bars: p50,
        logScale: true,
        legend: [
          { name: 'asynchronous (POST /api/signups)', color: ASYNC_COLOR },
          { name: 'synchronous (POST /api/signups/sync)', color: SYNC_COLOR },
        ],
        targets: slowest >= 0 ? [{ value: slowestAsync * TARGET_RATIO, label: `sync ≥ ${TARGET_RATIO}× async`, bars: [2 * slowest, 2 * slowest + 1] }] : [],
      }),
    },
    {
      name: 'p99',
      caption: `Asynchronous signup p99 per provider mode at ${ratePerSecond}/s, against the ${TARGET_P99_MS} ms target`,
      svg: barChart({
        title: `Asynchronous signup p99 at ${ratePerSecond}/s by provider mode`,
        unit: 'ms',
        bars: results.map(({ mode, async }) => ({ label: mode, value: async.latency.p99, color: ASYNC_COLOR })),
        targets: [{ value: TARGET_P99_MS, label: `target p99 ≤ ${TARGET_P99_MS} ms` }],
      }),
    },
  ];
}
