// The fairness scenario's chart, from the data it saves: how long workspace B's jobs took behind A's
// backlog, with and without the workspace clock, under the target. Apart from fairness.ts so that
// bench/render-charts.ts can draw a saved run again without starting anything.
import type { Chart } from '@/bench/harness/scenario';
import { barChart } from '@/bench/harness/svg-chart';

/** README's claim: B's jobs finish within this of being queued behind A's backlog. */
export const FAIR_WITHIN_MS = 5_000;

const FAIR_COLOR = '#2563eb';
const UNFAIR_COLOR = '#dc2626';

interface Finished {
  /** null when the job had not completed within its timeout. */
  latencyMs: number | null;
}

/** What the chart reads of the scenario's saved data. */
export interface FairnessChartData {
  backlog: number;
  /** With the clock, then without. */
  results: Array<{ mode: 'with' | 'without'; welcome: Finished; invitation: Finished }>;
  /** How long each job was waited for; runs saved before it was recorded leave it out. */
  timeoutsMs?: { welcome: number; invitation: number };
}

export function fairnessCharts({ backlog, results, timeoutsMs }: FairnessChartData): Chart[] {
  // A job that never finished is drawn at its timeout, marked as a lower bound.
  const bar = (job: 'welcome' | 'invitation', result: FairnessChartData['results'][number]) => {
    const { latencyMs } = result[job];
    const fairness = result.mode === 'with' ? 'fair' : 'unfair';
    return {
      label: `${job}, ${fairness}${latencyMs === null ? ' (≥)' : ''}`,
      value: latencyMs ?? timeoutsMs?.[job] ?? Number.NaN,
      color: result.mode === 'with' ? FAIR_COLOR : UNFAIR_COLOR,
    };
  };
  return [
    {
      name: 'workspace-b-latency',
      caption: `Workspace B's latency behind workspace A's ${backlog} invitations`,
      svg: barChart({
        title: `Workspace B behind A's ${backlog} invitations`,
        // Milliseconds: a log scale of seconds would start at 1 s, and the fair latencies are under one.
        unit: 'ms',
        logScale: true,
        bars: (['welcome', 'invitation'] as const).flatMap((job) => results.map((result) => bar(job, result))),
        legend: [
          { name: "fair: A's invitations paced by the workspace clock", color: FAIR_COLOR },
          { name: 'unfair: not paced', color: UNFAIR_COLOR },
        ],
        targets: [{ value: FAIR_WITHIN_MS, label: `target with fairness ≤ ${FAIR_WITHIN_MS / 1_000} s` }],
      }),
    },
  ];
}
