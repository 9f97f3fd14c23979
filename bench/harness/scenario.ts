// What every benchmark scenario gives the harness (bench/run.ts): it starts and stops what it
// needs, reports progress as it goes, and returns its tables, its targets met or missed with the
// measured figure, its charts and its raw numbers. A scenario never asserts timings: a missed
// target is a finding for the report, and only a scenario that could not run fails the run.

export interface BenchOptions {
  /** Every scenario at a tiny size, all of them within about two minutes: CI's harness check. */
  quick: boolean;
  /** One line of progress, printed with the scenario's name and the elapsed time. */
  progress(line: string): void;
}

export interface TargetCheck {
  /** What is aimed for, in the words, e.g. "async p99 ≤ 50 ms at 100 signups/s". */
  target: string;
  /** What was measured, with its unit. */
  measured: string;
  /** Undefined when the run could not judge it (a quick run, a mode that was skipped). */
  met?: boolean;
}

export interface Chart {
  /** File name part: see chartFileName. */
  name: string;
  caption: string;
  svg: string;
}

export interface ScenarioReport {
  /** Markdown: tables first, then a few lines on how it was measured and what it shows. */
  markdown: string;
  targets: TargetCheck[];
  charts: Chart[];
  /** Everything measured, as plain JSON, for later comparison. */
  data: unknown;
}

export interface Scenario {
  /** kebab-case; `npm run bench -- --only <id>,<id>` runs some. */
  id: string;
  title: string;
  run(options: BenchOptions): Promise<ScenarioReport>;
}

/** A markdown table from a header row and body rows. */
export function markdownTable(header: string[], rows: Array<Array<string | number>>): string {
  const line = (cells: Array<string | number>) => `| ${cells.map(String).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/**
 * Where a run's chart is written, beside its report: `<base>-<scenario>-<name>.svg`. An `--only`
 * run's base already ends in its scenario ids, so its files read `<date>-efficiency-efficiency-…`:
 * the doubled id keeps them apart from the same day's full run, whose files it would overwrite.
 */
export function chartFileName(base: string, scenarioId: string, chartName: string): string {
  return `${base}-${scenarioId}-${chartName}.svg`;
}
