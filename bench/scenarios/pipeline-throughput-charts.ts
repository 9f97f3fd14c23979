// The pipeline-throughput scenario's charts and the rates they share with its report, from the data
// it saves: jobs/s of ours against BullMQ's no-op, with the target share over each pass, and per
// queue. Apart from pipeline-throughput.ts so that bench/render-charts.ts can draw a saved run again
// without starting anything.
import type { QueueName } from '@/lib/config';
import type { Drain } from '@/bench/harness/pipeline-drain';
import type { Chart } from '@/bench/harness/scenario';
import { barChart } from '@/bench/harness/svg-chart';
import { perSecond } from '@/bench/harness/throughput';

const NO_OP_COLOR = '#2563eb';
const OURS_COLOR = '#dc2626';

export interface Pass {
  name: string;
  served: readonly QueueName[];
  /** Just before and just after ours. */
  noOp: [Drain, Drain];
  ours: Drain;
}

/** What the charts read of the scenario's saved data. */
export interface PipelineChartData {
  signups: number;
  /** Ours ÷ no-op aimed for. */
  targetShare: number;
  passes: Pass[];
}

export function jobsPerSecond(drain: Drain, queues: readonly string[] = Object.keys(drain.jobs)): number {
  const jobs = queues.reduce((sum, queue) => sum + (drain.jobs[queue] ?? 0), 0);
  const span = Math.max(...queues.map((queue) => drain.drainMs[queue] ?? Number.NaN));
  return perSecond(jobs, span);
}

/** The no-op side's rate: the mean of its runs before and after ours. */
export function noOpPerSecond(pass: Pass, queues?: readonly string[]): number {
  return pass.noOp.reduce((sum, drain) => sum + jobsPerSecond(drain, queues), 0) / pass.noOp.length;
}

export function pipelineCharts({ signups, targetShare, passes }: PipelineChartData): Chart[] {
  const legend = [
    { name: 'BullMQ, no-op processor', color: NO_OP_COLOR },
    { name: 'ours, real handlers', color: OURS_COLOR },
  ];
  const bars = passes.flatMap((pass) => [
    { label: pass.name, value: noOpPerSecond(pass), color: NO_OP_COLOR },
    { label: pass.name, value: jobsPerSecond(pass.ours), color: OURS_COLOR },
  ]);
  const targets = passes.map((pass, index) => ({
    value: noOpPerSecond(pass) * targetShare,
    label: `ours ≥ ${Math.round(targetShare * 100)}% of no-op`,
    bars: [2 * index, 2 * index + 1] as [number, number],
  }));
  const all = passes[0];
  const perQueue = (all?.served ?? []).flatMap((queue) => [
    { label: queue, value: all ? noOpPerSecond(all, [queue]) : Number.NaN, color: NO_OP_COLOR },
    { label: queue, value: all ? jobsPerSecond(all.ours, [queue]) : Number.NaN, color: OURS_COLOR },
  ]);
  return [
    {
      name: 'jobs-per-second',
      caption: 'Jobs/s: BullMQ with a no-op processor and our real handlers, same concurrency',
      svg: barChart({ title: `Jobs/s, ${signups.toLocaleString('en-US')} signups' jobs drained`, unit: 'jobs/s', bars, legend, targets }),
    },
    {
      name: 'per-queue',
      caption: 'Jobs/s per queue, all four queues served (log scale)',
      svg: barChart({ title: 'Jobs/s per queue, all four served', unit: 'jobs/s', bars: perQueue, logScale: true, legend }),
    },
  ];
}
