// `npm run chaos -- --seed N --minutes M [--workers W] [--settle-minutes S] [--keep-database]`:
// the chaos soak (docs/failure-model.md#chaos-soak). Starts a private stack from the production
// build, drives a steady load for M minutes under an overlapping fault schedule drawn from the seed,
// heals everything, waits for the system to settle, checks the invariants and writes the report to
// bench/results/<date>-chaos-seed<N>.md and .json. Exit code 1 when an invariant is broken.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildFreshness, requireProductionBuild, startChaosStack, type ChaosStack } from './chaos-stack';
import { faultRows, machineCores, summariseOutbox, tally, writeReport, type ChaosReport } from './chaos-report';
import { runFaultSchedule, type FaultRun } from './fault-injector';
import { describeWindow, faultSchedule } from './fault-schedule';
import { checkInvariants, classifyServerErrors } from './invariants';
import { startLoad, type LoadDriver } from './load-driver';
import { settle } from './settle';

const PROGRESS_EVERY_MS = 10_000;

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? undefined : process.argv[index + 1];
}

function numberArgument(name: string, fallback: number): number {
  const text = argument(name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} takes a non-negative number, not ${text}`);
  return value;
}

async function main(): Promise<number> {
  const seed = numberArgument('seed', Math.floor(Math.random() * 2 ** 31));
  const minutes = numberArgument('minutes', 2);
  const workers = numberArgument('workers', 2);
  // Long enough for the reconciler's one-minute grace plus a retry's backoff after the last fault.
  const settleMinutes = numberArgument('settle-minutes', 5);
  const keepDatabase = process.argv.includes('--keep-database');
  const windows = faultSchedule({ seed, minutes, workers });

  let startedAt = Date.now();
  const elapsed = () => Date.now() - startedAt;
  const log = (line: string) => console.log(`[chaos +${(elapsed() / 1_000).toFixed(1).padStart(6)} s] ${line}`);
  console.log(`[chaos] seed ${seed}, ${minutes} min of load, ${workers} worker processes, ${windows.length} faults:`);
  for (const window of windows) console.log(`[chaos]   ${describeWindow(window)}`);

  requireProductionBuild();
  const build = buildFreshness();
  if (build.newerSource) {
    console.log(
      `[chaos] WARNING: the build (${build.builtAt}) is older than ${build.newerSource.file} (${build.newerSource.changedAt}): ` +
        'the soak tests the code as built; run `npm run build` to test the sources',
    );
  }
  const runDir = join('bench', '.work', 'chaos', `seed${seed}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  const stack = await startChaosStack({ workers, runDir, elapsedMs: elapsed });
  console.log(`[chaos] stack up: web ${stack.webUrl}, Valkey ${stack.valkey.url}, database ${stack.database.name}; logs in ${runDir}`);
  let faults: FaultRun | undefined;
  let load: LoadDriver | undefined;
  const interrupt = () => {
    console.log('[chaos] interrupted: healing and stopping');
    faults?.abort();
    void (async () => {
      await load?.stop();
      await faults?.healAll();
      await stack.close({ keepDatabase });
      process.exit(130);
    })();
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);

  try {
    startedAt = Date.now();
    load = startLoad({ webUrl: stack.webUrl, adminAuthorization: stack.adminAuthorization, seed, startedAt });
    faults = runFaultSchedule(stack, windows, startedAt, log);
    const progress = setInterval(() => log(progressLine(stack, load as LoadDriver, faults as FaultRun)), PROGRESS_EVERY_MS);
    await sleep(minutes * 60_000);
    clearInterval(progress);
    log('load stopped; waiting for the requests in flight');
    await load.stop();
    await faults.done;
    await faults.healAll();
    const lastHealedAt = Math.max(0, ...faults.records.map((record) => record.healedAt ?? 0));
    log(`every fault healed (the last at +${(lastHealedAt / 1_000).toFixed(1)} s); settling`);
    const settled = await settle(stack, { startedAt, deadlineMs: settleMinutes * 60_000, log });
    log(settled.settled ? 'settled; checking the invariants' : `did not settle within ${settleMinutes} min; checking anyway`);

    const { invariants, outbox, records } = await checkInvariants({ stack, load, faults: faults.records, settle: settled, startedAt });
    // The providers' records die with the soak; kept beside the logs for a failing run's post-mortem.
    writeFileSync(join(runDir, 'provider-records.json'), JSON.stringify(records));
    const serverErrors = classifyServerErrors(load.requests, faults.records);
    const report: ChaosReport = {
      seed,
      minutes,
      workers,
      startedAt: new Date(startedAt).toISOString(),
      cores: machineCores(),
      build,
      passed: invariants.every((invariant) => invariant.ok),
      convergedAfterMs: settled.settled ? settled.settledAt - lastHealedAt : undefined,
      faults: faultRows(faults.records),
      requests: tally(load.requests),
      serverErrors: { duringPostgresDowntime: serverErrors.during.length, outside: serverErrors.outside.length },
      noAnswer: load.requests.filter((request) => request.status === 'no-answer').length,
      ...summariseOutbox(outbox),
      unexpectedExits: Object.fromEntries(
        [stack.web, ...stack.workers].filter((child) => child.unexpectedExits.length > 0).map((child) => [child.name, child.unexpectedExits]),
      ),
      invariants,
    };
    const files = writeReport(report);
    printSummary(report, files.markdown);
    return report.passed ? 0 : 1;
  } finally {
    faults?.abort();
    await faults?.healAll();
    await stack.close({ keepDatabase });
    if (keepDatabase) console.log(`[chaos] kept database ${stack.database.name}`);
  }
}

function progressLine(stack: ChaosStack, load: LoadDriver, faults: FaultRun): string {
  const counts = tally(load.requests);
  const requests = Object.entries(counts)
    .map(([kind, byStatus]) => `${kind} ${Object.entries(byStatus).map(([status, count]) => `${status}×${count}`).join(' ')}`)
    .join('; ');
  const active = faults.records.filter((record) => record.appliedAt !== undefined && record.healedAt === undefined);
  const faultText = active.map((record) => `#${record.window.id} ${record.window.kind}${record.window.kind === 'provider' ? `:${record.window.mode}` : ''} ${record.window.target}`);
  const down = [stack.web, ...stack.workers].filter((child) => !child.running()).map((child) => child.name);
  return `${requests || 'no answers yet'} | faults: ${faultText.join(', ') || 'none'}${down.length > 0 ? ` | down: ${down.join(', ')}` : ''}`;
}

function printSummary(report: ChaosReport, file: string): void {
  console.log('');
  console.log(`[chaos] seed ${report.seed}: ${report.passed ? 'PASSED' : 'FAILED'}`);
  console.log(`[chaos] converged after the last fault: ${report.convergedAfterMs === undefined ? 'never' : `${(report.convergedAfterMs / 1_000).toFixed(1)} s`}`);
  console.log(`[chaos] 5xx: ${report.serverErrors.outside} outside PostgreSQL's downtime, ${report.serverErrors.duringPostgresDowntime} during it; ${report.noAnswer} requests unanswered`);
  console.log(`[chaos] outbox: ${Object.entries(report.outbox).map(([state, count]) => `${count} ${state}`).join(', ')}`);
  for (const [name, exits] of Object.entries(report.unexpectedExits)) console.log(`[chaos] ${name} exited on its own (restarted): ${exits.join('; ')}; see its log`);
  if (report.build.newerSource) console.log(`[chaos] WARNING: tested a build older than ${report.build.newerSource.file}`);
  for (const invariant of report.invariants) console.log(`[chaos]   ${invariant.ok ? 'ok    ' : 'BROKEN'} ${invariant.name} (${invariant.checked})`);
  const broken = report.invariants.find((invariant) => !invariant.ok);
  if (broken) {
    console.log(`[chaos] first broken invariant (seed ${report.seed}): ${broken.name}`);
    for (const violation of broken.violations) console.log(`[chaos]   - ${violation}`);
  }
  console.log(`[chaos] report: ${file}`);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error('[chaos] the soak could not run:', error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(2);
  },
);
