// The memory scenario's chart, from the data it saves: each process's RSS and Valkey's memory over
// the run, under the processes' targets. Apart from memory.ts so that bench/render-charts.ts can
// draw a saved run again without starting anything.
import type { Chart } from '@/bench/harness/scenario';
import { lineChart } from '@/bench/harness/svg-chart';

/** The targets; the avatar sandboxes are budgeted on their own line (docs/operations.md). */
export const TARGET_MB = { web: 250, worker: 180 };
export const MB = 2 ** 20;

/** Charted, and tabled first. */
export const RSS_SERIES = [
  { key: 'web', name: 'web process RSS' },
  { key: 'worker', name: 'worker process RSS' },
  { key: 'sandboxes', name: 'avatar sandboxes RSS (sum)' },
  { key: 'valkey', name: 'Valkey used_memory' },
] as const;

/** What the chart reads of the scenario's saved data: bytes, sampled at `t` seconds. */
export interface MemoryChartData {
  ratePerSecond: number;
  size: { seconds: number };
  samples: Array<{ t: number } & Record<(typeof RSS_SERIES)[number]['key'], number | null>>;
}

export function memoryCharts({ ratePerSecond, size, samples }: MemoryChartData): Chart[] {
  return [
    {
      name: 'rss',
      caption: `Memory during ${size.seconds} s at ${ratePerSecond} signups/s`,
      svg: lineChart({
        title: `Memory at ${ratePerSecond} signups/s`,
        xLabel: 'seconds',
        yLabel: 'MB',
        series: RSS_SERIES.map(({ key, name }) => ({
          name,
          // A failed sample is saved as null: a gap in the line, not a drop to zero.
          points: samples.map((sample): [number, number] => [Math.round(sample.t), (sample[key] ?? Number.NaN) / MB]),
        })),
        targets: [
          { value: TARGET_MB.web, label: `web target ≤ ${TARGET_MB.web} MB` },
          { value: TARGET_MB.worker, label: `worker target ≤ ${TARGET_MB.worker} MB` },
        ],
      }),
    },
  ];
}
