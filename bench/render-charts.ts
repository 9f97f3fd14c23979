// `npx tsx bench/render-charts.ts bench/results/<run>.json …`: a saved run's charts drawn again from
// its JSON, through the functions its scenarios draw them with during a run, so that a change to the
// charts reaches committed reports without an hour's rerun. Each SVG is written beside the JSON
// under the name bench/run.ts gave it. A scenario that failed, saved no data, or whose data lacks
// what its charts read is reported and its files are left as they are.
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { chartFileName, type Chart } from '@/bench/harness/scenario';
import { backendsCharts, type BackendsChartData } from '@/bench/scenarios/backends-charts';
import { capacityCharts } from '@/bench/scenarios/capacity-charts';
import type { CapacityData } from '@/bench/scenarios/capacity-data';
import { efficiencyCharts, type EfficiencyChartData } from '@/bench/scenarios/efficiency-charts';
import { fairnessCharts, type FairnessChartData } from '@/bench/scenarios/fairness-charts';
import { memoryCharts, type MemoryChartData } from '@/bench/scenarios/memory-charts';
import { outageCharts, type OutageChartData } from '@/bench/scenarios/outage-recovery-charts';
import { pipelineCharts, type PipelineChartData } from '@/bench/scenarios/pipeline-throughput-charts';
import { signupLatencyCharts, type SignupLatencyChartData } from '@/bench/scenarios/signup-latency-charts';

/** By scenario id. The data is the run's JSON as saved: each function reads only what it declares. */
const CHARTS: Record<string, (data: unknown) => Chart[]> = {
  efficiency: (data) => efficiencyCharts(data as EfficiencyChartData),
  'signup-latency': (data) => signupLatencyCharts(data as SignupLatencyChartData),
  'pipeline-throughput': (data) => pipelineCharts(data as PipelineChartData),
  'outage-recovery': (data) => outageCharts(data as OutageChartData),
  fairness: (data) => fairnessCharts(data as FairnessChartData),
  backends: (data) => backendsCharts(data as BackendsChartData),
  memory: (data) => memoryCharts(data as MemoryChartData),
  capacity: (data) => capacityCharts(data as CapacityData),
};

interface SavedRun {
  results: Array<{ scenario: { id: string }; error?: string; data?: unknown }>;
}

function render(file: string): boolean {
  const run = JSON.parse(readFileSync(file, 'utf8')) as SavedRun;
  const base = basename(file, '.json');
  let complete = true;
  for (const { scenario, error, data } of run.results) {
    const charts = CHARTS[scenario.id];
    const skip = !charts ? 'draws no charts' : error ? 'did not run' : data === undefined ? 'saved no data' : undefined;
    if (skip || !charts) {
      console.log(`${scenario.id}: ${skip}; its files are left as they are`);
      continue;
    }
    let drawn: Chart[];
    try {
      drawn = charts(data);
    } catch (cause) {
      complete = false;
      console.log(`${scenario.id}: its data lacks what the charts read (${cause instanceof Error ? cause.message : String(cause)}); its files are left as they are`);
      continue;
    }
    for (const chart of drawn) {
      const path = join(dirname(file), chartFileName(base, scenario.id, chart.name));
      writeFileSync(path, chart.svg);
      console.log(`${scenario.id}: ${path}`);
    }
  }
  return complete;
}

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: npx tsx bench/render-charts.ts bench/results/<run>.json …');
  process.exit(2);
}
const complete = files.map(render).every(Boolean);
process.exit(complete ? 0 : 1);
