// The outage-recovery scenario's chart, from the data it saves: the CRM's requests per second in
// each configuration, under the peak target. Apart from outage-recovery.ts so that
// bench/render-charts.ts can draw a saved run again without starting anything.
import type { Chart } from '@/bench/harness/scenario';
import { lineChart } from '@/bench/harness/svg-chart';

/** The peak after recovery: the CRM's rate limit and 10% more. */
export const PEAK_MARGIN = 0.1;

export function peakTargetPerSecond(crmRateLimit: number): number {
  return Math.round(crmRateLimit * (1 + PEAK_MARGIN));
}

/** What the chart reads of the scenario's saved data. */
export interface OutageChartData {
  jobs: number;
  outageMs: number;
  crmRateLimit: number;
  /** Per configuration: its legend name and the CRM's requests per 1 s bin from the outage's start. */
  results: Array<{ short: string; perSecond: number[] }>;
}

export function outageCharts({ jobs, outageMs, crmRateLimit, results }: OutageChartData): Chart[] {
  return [
    {
      name: 'crm-requests',
      caption: `CRM requests per second: down for ${outageMs / 1_000} s, then up at ${crmRateLimit}/s`,
      svg: lineChart({
        title: `CRM requests/s: down 0–${outageMs / 1_000} s, then up (${jobs} jobs)`,
        xLabel: 'seconds since the outage began',
        yLabel: 'requests/s',
        series: results.map((result) => ({
          name: result.short,
          points: result.perSecond.map((count, second): [number, number] => [second, count]),
        })),
        targets: [{ value: peakTargetPerSecond(crmRateLimit), label: `target: peak after recovery ≤ ${peakTargetPerSecond(crmRateLimit)}/s` }],
      }),
    },
  ];
}
