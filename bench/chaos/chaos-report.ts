// The soak's report: markdown for people, JSON for tools, both in bench/results/
// (<date>-chaos-seed<N>.md and .json), and the few lines the terminal prints at the end.
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { BuildFreshness } from './chaos-stack';
import type { FaultRecord } from './fault-injector';
import { describeWindow } from './fault-schedule';
import type { InvariantResult } from './invariants';
import type { RequestRecord } from './load-driver';
import type { AccountedRow } from './outbox-accounting';

export interface ChaosReport {
  seed: number;
  minutes: number;
  workers: number;
  startedAt: string;
  cores: number;
  build: BuildFreshness;
  passed: boolean;
  /** Ms from the last fault's healing to the settled state; undefined when it never settled. */
  convergedAfterMs: number | undefined;
  faults: Array<{ description: string; appliedAt?: number; healedAt?: number; error?: string }>;
  requests: Record<string, Record<string, number>>;
  serverErrors: { duringPostgresDowntime: number; outside: number };
  noAnswer: number;
  outbox: Record<string, number>;
  /** The same, by job name: `<job> <state>`. */
  outboxByJob: Record<string, number>;
  skipReasons: Record<string, number>;
  deadLetters: Array<{ queue: string; jobId: string; lastError: string }>;
  unexpectedExits: Record<string, string[]>;
  invariants: InvariantResult[];
}

export function tally(requests: RequestRecord[]): Record<string, Record<string, number>> {
  const byKind: Record<string, Record<string, number>> = {};
  for (const request of requests) {
    const counts = (byKind[request.kind] ??= {});
    counts[String(request.status)] = (counts[String(request.status)] ?? 0) + 1;
  }
  return byKind;
}

export function summariseOutbox(rows: AccountedRow[]): Pick<ChaosReport, 'outbox' | 'outboxByJob' | 'skipReasons' | 'deadLetters'> {
  const outbox: Record<string, number> = {};
  const outboxByJob: Record<string, number> = {};
  const skipReasons: Record<string, number> = {};
  for (const row of rows) {
    outbox[row.state] = (outbox[row.state] ?? 0) + 1;
    outboxByJob[`${row.jobName} ${row.state}`] = (outboxByJob[`${row.jobName} ${row.state}`] ?? 0) + 1;
    if (row.skipReason) skipReasons[`${row.jobName}: ${row.skipReason}`] = (skipReasons[`${row.jobName}: ${row.skipReason}`] ?? 0) + 1;
  }
  const deadLetters = rows
    .filter((row) => row.state === 'dead-lettered')
    .map((row) => ({ queue: row.queue, jobId: row.jobId, lastError: row.deadLetters.at(-1)?.lastError ?? '' }));
  return { outbox, outboxByJob, skipReasons, deadLetters };
}

export function faultRows(records: FaultRecord[]): ChaosReport['faults'] {
  return records.map((record) => ({
    description: describeWindow(record.window),
    ...(record.appliedAt !== undefined ? { appliedAt: record.appliedAt } : {}),
    ...(record.healedAt !== undefined ? { healedAt: record.healedAt } : {}),
    ...(record.error ? { error: record.error } : {}),
  }));
}

export function writeReport(report: ChaosReport): { markdown: string; json: string } {
  const directory = join('bench', 'results');
  mkdirSync(directory, { recursive: true });
  const base = join(directory, `${report.startedAt.slice(0, 10)}-chaos-seed${report.seed}`);
  writeFileSync(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(`${base}.md`, markdown(report));
  return { markdown: `${base}.md`, json: `${base}.json` };
}

const seconds = (ms: number | undefined) => (ms === undefined ? '–' : `${(ms / 1_000).toFixed(1)} s`);

function markdown(report: ChaosReport): string {
  const statuses = [...new Set(Object.values(report.requests).flatMap((counts) => Object.keys(counts)))].sort();
  const lines = [
    `# Chaos soak, seed ${report.seed}: ${report.passed ? 'passed' : 'FAILED'}`,
    '',
    `\`npm run chaos -- --seed ${report.seed} --minutes ${report.minutes} --workers ${report.workers}\`, started ${report.startedAt} on ${report.cores} cores.`,
    'What it injects and checks: [docs/failure-model.md](../../docs/failure-model.md#chaos-soak).',
    '',
    report.build.newerSource
      ? `**The build (${report.build.builtAt}) is older than \`${report.build.newerSource.file}\` (${report.build.newerSource.changedAt}): this run tested the code as built, not the sources.**`
      : `The production build of ${report.build.builtAt}, newer than every source file.`,
    '',
    `- Converged ${seconds(report.convergedAfterMs)} after the last fault healed.`,
    `- 5xx answers: ${report.serverErrors.outside} outside PostgreSQL's downtime, ${report.serverErrors.duringPostgresDowntime} (503) during it.`,
    `- Requests with no answer (web killed, stopped, or past the 10 s client timeout): ${report.noAnswer}.`,
    `- Outbox rows: ${Object.entries(report.outbox).map(([state, count]) => `${count} ${state}`).join(', ') || 'none'}.`,
    '',
    '## Invariants',
    '',
    '| invariant | checked | result |',
    '|---|---|---|',
    ...report.invariants.map((invariant) => `| ${invariant.name} | ${invariant.checked} | ${invariant.ok ? 'holds' : `**${invariant.violationCount} broken**`} |`),
    '',
    ...report.invariants
      .filter((invariant) => !invariant.ok)
      .flatMap((invariant) => [`### ${invariant.name}`, '', ...invariant.violations.map((violation) => `- ${violation}`), '']),
    '## Faults',
    '',
    '| fault | applied | healed | error |',
    '|---|---|---|---|',
    ...report.faults.map((fault) => `| ${fault.description} | +${seconds(fault.appliedAt)} | +${seconds(fault.healedAt)} | ${fault.error ?? ''} |`),
    '',
    '## Requests',
    '',
    `| kind | ${statuses.join(' | ')} |`,
    `|---|${statuses.map(() => '---:').join('|')}|`,
    ...Object.entries(report.requests).map(([kind, counts]) => `| ${kind} | ${statuses.map((status) => counts[status] ?? 0).join(' | ')} |`),
    '',
    '## Outbox rows by job',
    '',
    ...Object.entries(report.outboxByJob).sort().map(([jobState, count]) => `- ${count} × ${jobState}`),
    '',
    '## Jobs skipped on purpose, and dead letters',
    '',
    ...(Object.keys(report.skipReasons).length > 0 ? Object.entries(report.skipReasons).map(([reason, count]) => `- ${count} × ${reason}`) : ['- no skips']),
    '',
    ...(report.deadLetters.length > 0 ? report.deadLetters.map((letter) => `- ${letter.queue} ${letter.jobId}: ${letter.lastError}`) : ['- no dead letters']),
    '',
    '## Processes that exited on their own',
    '',
    ...(Object.keys(report.unexpectedExits).length > 0
      ? Object.entries(report.unexpectedExits).map(([name, exits]) => `- ${name}: ${exits.join('; ')}`)
      : ['- none']),
    '',
  ];
  return `${lines.join('\n')}\n`;
}

export function machineCores(): number {
  return availableParallelism();
}
