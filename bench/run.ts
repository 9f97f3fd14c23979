// `npm run bench`: every claim this project makes about speed, measured side by side in one run
// so that the ratios hold on a noisy machine (issue #8). Each scenario starts and stops what it
// needs (its own valkey-server, database, mock providers, web and worker processes).
//
//   npm run bench                      all eight, full size: bench/results/<date>.md, .json, *.svg
//   npm run bench -- --quick           all eight at a tiny size in under two minutes, written under
//                                      bench/.work/quick/ (CI runs this to keep the harness working)
//   npm run bench -- --only a,b        some of them, in files of their own: <date>-a-b.md, .json,
//                                      *.svg, so the day's full report is left as it is
//   npm run bench -- --only backends --without-cost-runs
//                                      the backends compared without their hour of cost runs
//                                      (about 10 minutes)
//
// The web scenarios run the production build: `npm run build` first.
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, machine, totalmem } from 'node:os';
import { join } from 'node:path';
import { chartFileName, markdownTable, type Scenario, type ScenarioReport } from '@/bench/harness/scenario';

/** In the issue's order; each is `bench/scenarios/<id>.ts` exporting `scenario`. */
const SCENARIO_IDS = [
  'efficiency',
  'signup-latency',
  'pipeline-throughput',
  'outage-recovery',
  'fairness',
  'backends',
  'memory',
  'capacity',
] as const;

interface RunResult {
  scenario: Pick<Scenario, 'id' | 'title'>;
  report?: ScenarioReport;
  error?: string;
  seconds: number;
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const only = argumentAfter('--only')?.split(',');
  const unknown = only?.filter((id) => !(SCENARIO_IDS as readonly string[]).includes(id)) ?? [];
  if (unknown.length > 0) throw new Error(`unknown scenario(s) ${unknown.join(', ')}; known: ${SCENARIO_IDS.join(', ')}`);

  const started = Date.now();
  const date = new Date().toISOString().slice(0, 10);
  // Every file of the run starts with this: the date alone for all scenarios, plus their ids for some.
  const base = only ? `${date}-${SCENARIO_IDS.filter((id) => only.includes(id)).join('-')}` : date;
  const outDir = quick ? join('bench', '.work', 'quick') : join('bench', 'results');
  mkdirSync(outDir, { recursive: true });
  const results: RunResult[] = [];

  for (const id of SCENARIO_IDS.filter((name) => !only || only.includes(name))) {
    const { scenario } = (await import(`./scenarios/${id}.ts`)) as { scenario: Scenario };
    const scenarioStarted = Date.now();
    const progress = (line: string) =>
      console.log(`[${((Date.now() - started) / 1_000).toFixed(0).padStart(4)} s] ${scenario.id}: ${line}`);
    progress(`starting${quick ? ' (quick)' : ''}`);
    try {
      const report = await scenario.run({ quick, progress });
      results.push({ scenario, report, seconds: (Date.now() - scenarioStarted) / 1_000 });
      for (const chart of report.charts) writeFileSync(join(outDir, chartFileName(base, scenario.id, chart.name)), chart.svg);
      progress(`done in ${((Date.now() - scenarioStarted) / 1_000).toFixed(0)} s`);
    } catch (error) {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      results.push({ scenario, error: message, seconds: (Date.now() - scenarioStarted) / 1_000 });
      progress(`FAILED: ${message}`);
    }
  }

  const environment = machineDescription();
  writeFileSync(
    join(outDir, `${base}.json`),
    `${JSON.stringify({ date, quick, environment, results: results.map(({ report, ...rest }) => ({ ...rest, targets: report?.targets, data: report?.data })) }, null, 2)}\n`,
  );
  writeFileSync(join(outDir, `${base}.md`), reportMarkdown(date, base, quick, environment, results));
  console.log(`\nreport: ${join(outDir, `${base}.md`)} (${((Date.now() - started) / 1_000).toFixed(0)} s)`);

  const failed = results.filter((result) => result.error);
  if (failed.length > 0) {
    console.error(`${failed.length} scenario(s) could not run: ${failed.map((result) => result.scenario.id).join(', ')}`);
    process.exit(1);
  }
  // Open handles a scenario forgot would keep the process alive; the report is written.
  process.exit(0);
}

function reportMarkdown(date: string, base: string, quick: boolean, environment: Record<string, string>, results: RunResult[]): string {
  const targets = results.flatMap(({ scenario, report }) =>
    (report?.targets ?? []).map((target) => [
      scenario.title,
      target.target,
      target.measured,
      target.met === undefined ? 'not judged' : target.met ? 'met' : '**missed**',
    ]),
  );
  const sections = results.map(({ scenario, report, error, seconds }) => {
    const charts = (report?.charts ?? [])
      .map((chart) => `![${chart.caption}](${chartFileName(base, scenario.id, chart.name)})`)
      .join('\n\n');
    const body = error ? `Could not run:\n\n\`\`\`\n${error}\n\`\`\`` : `${report?.markdown ?? ''}\n\n${charts}`;
    return `## ${scenario.title}\n\n${body.trim()}\n\n_${seconds.toFixed(0)} s._`;
  });
  return [
    `# Benchmarks, ${date}${quick ? ' (quick run: sizes too small to mean anything)' : ''}`,
    markdownTable(['', ''], Object.entries(environment)),
    '## Targets',
    markdownTable(['scenario', 'target', 'measured', ''], targets),
    ...sections,
  ].join('\n\n') + '\n';
}

function machineDescription(): Record<string, string> {
  return {
    machine: `${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${machine()}`,
    node: process.version,
    note: 'web, workers, mock providers, PostgreSQL, Valkey and the load generator share these cores',
  };
}

function argumentAfter(flag: string): string | undefined {
  const at = process.argv.indexOf(flag);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

await main();
