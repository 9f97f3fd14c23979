// The capacity scenario's report: its tables, its "not judged" figures, two charts and the raw
// numbers, from the CapacityData (capacity-data.ts) that capacity.ts measured. Apart from
// capacity.ts only to keep each file readable.
import { QUEUE_NAMES } from '@/lib/queues';
import { backlogPhase, type Phase, type Round } from '@/bench/harness/backlog-drain';
import type { LoadAverage } from '@/bench/harness/machine-cpu';
import { markdownTable, type ScenarioReport, type TargetCheck } from '@/bench/harness/scenario';
import { percent, rate } from '@/bench/harness/throughput';
import { addWork, type ValkeyWork } from '@/bench/harness/valkey-work';
import { ONE_PROCESS_ROUNDS, type CapacityData, type NoOpRun } from '@/bench/scenarios/capacity-data';
import { capacityCharts, coresByUser, USERS } from '@/bench/scenarios/capacity-charts';

/** At this share of one core Valkey's command thread, or the machine, is taken as a run's limit. */
const SATURATED = 0.9;
const TOP_COMMANDS = 12;

export function capacityReport(data: CapacityData): ScenarioReport {
  const { scaling, noOp, size } = data;
  const one = scaling.find((run) => run.processes === 1);
  if (!one) throw new Error('no one-process run');
  const round = (at: number): Round => {
    const found = one.rounds[at];
    if (!found) throw new Error(`the one-process run has no round ${at}`);
    return found;
  };
  const idle = firstOf(round(ONE_PROCESS_ROUNDS.idle)).valkey;
  const flowRound = round(ONE_PROCESS_ROUNDS.flow);
  const flow = firstOf(flowRound).valkey;
  const backlogRound = round(ONE_PROCESS_ROUNDS.backlog);
  const produce = backlogRound.buildValkey;
  if (!produce) throw new Error('the backlog round has no build figures');
  const consume = firstOf(backlogRound).valkey;
  const backlog = addWork(produce, consume);
  const alone = round(ONE_PROCESS_ROUNDS.alone).phases;

  // What waiting costs (timers, a worker's blocking reads) is not the signups'.
  const idleMsPerSecond = idle.mainThreadCpuMs / idle.seconds;
  const cpuMs = (work: ValkeyWork) => work.mainThreadCpuMs - idleMsPerSecond * work.seconds;
  const perSignupCpu = cpuMs(backlog) / backlogRound.built;
  const flowCpu = cpuMs(flow) / flowRound.built;
  const saturation = (1_000 - idleMsPerSecond) / perSignupCpu;

  // Columns: what was measured and how many signups it was for.
  const columns: Array<[ValkeyWork, number]> = [
    [flow, flowRound.built],
    [backlog, backlogRound.built],
    [produce, backlogRound.built],
    [consume, backlogRound.built],
  ];
  const costRows = (
    [
      ['commands run, those scripts call included', (work, n) => fixed(work.commandsRun / n, 1)],
      ['of which script calls (EVALSHA)', (work, n) => fixed(scriptCalls(work) / n, 1)],
      ['bytes in (total_net_input_bytes)', (work, n) => bytes(work.netInputBytes / n)],
      ['bytes out (total_net_output_bytes)', (work, n) => bytes(work.netOutputBytes / n)],
      ['main-thread CPU, waiting\'s share taken out', (work, n) => `${fixed(cpuMs(work) / n, 3)} ms`],
      ['main-thread CPU, as read', (work, n) => `${fixed(work.mainThreadCpuMs / n, 3)} ms`],
      ['Valkey main thread busy', (work) => percent(work.mainThreadUtilisation)],
    ] as Array<[string, (work: ValkeyWork, n: number) => string]>
  ).map(([name, show]) => [name, ...columns.map(([work, n], index) => (index === 1 ? `**${show(work, n)}**` : show(work, n)))]);
  const commandRows = backlog.byCommand
    .slice(0, TOP_COMMANDS)
    .map((command) => [command.command, fixed(command.calls / backlogRound.built, 2), `${fixed(command.usec / backlogRound.built, 1)} µs`]);

  const best = noOp.reduce<NoOpRun | undefined>(
    (top, run) => (!top || backlogPhase(run).jobsPerSecond > backlogPhase(top).jobsPerSecond ? run : top),
    undefined,
  );
  const noOpCpuPerJob = (run: NoOpRun) => {
    const built = run.rounds[0];
    return built?.buildValkey ? (cpuMs(built.buildValkey) + cpuMs(backlogPhase(run).valkey)) / totalJobs(built) : Number.NaN;
  };
  const noOpRows = noOp.map((run) => {
    const phase = backlogPhase(run);
    const built = run.rounds[0];
    const jobs = built ? totalJobs(built) : Number.NaN;
    const add = built?.buildValkey;
    return [
      `${run.processes} × ${run.concurrency} per queue`,
      `**${rate(phase.jobsPerSecond)}**`,
      percent(phase.valkey.mainThreadUtilisation),
      percent(phase.cpu.machineBusy),
      fixed(phase.cpu.workers, 2),
      limitOf(phase),
      `${fixed(cpuMs(phase.valkey) / jobs, 4)} ms`,
      add && built ? `${rate((jobs * 1_000) / built.buildMs)} at ${percent(add.mainThreadUtilisation)}, ${fixed(cpuMs(add) / jobs, 4)} ms` : 'n/a',
      loadText(phase.load),
    ];
  });
  const bestPhase = best ? backlogPhase(best) : undefined;
  const noOpJobCpu = best ? noOpCpuPerJob(best) : Number.NaN;

  const scalingRows = scaling.map((run) => {
    const phase = backlogPhase(run);
    return [
      String(run.processes),
      `**${rate(phase.jobsPerSecond)}**`,
      ...QUEUE_NAMES.map((queue) => rate(phase.perQueuePerSecond[queue] ?? Number.NaN)),
      percent(phase.cpu.machineBusy),
      ...coresByUser(phase).map((cores) => fixed(cores, 2)),
      percent(phase.valkey.mainThreadUtilisation),
      `${phase.cpu.workerProcesses.from} → ${phase.cpu.workerProcesses.to}`,
      loadText(phase.load),
    ];
  });
  const together = backlogPhase(one);
  const aloneRows = alone.map((phase) => {
    const queue = phase.served[0] ?? 'email';
    return [
      queue,
      `**${rate(phase.jobsPerSecond)}**`,
      rate(together.perQueuePerSecond[queue] ?? Number.NaN),
      percent(phase.cpu.machineBusy),
      fixed(phase.cpu.workers, 2),
      fixed(phase.cpu.postgres, 2),
      percent(phase.valkey.mainThreadUtilisation),
      `${phase.failed[queue] ?? 0}`,
      loadText(phase.load),
    ];
  });

  const count = (value: number) => value.toLocaleString('en-US');
  const markdown = [
    `${data.serverVersion.replace('_version:', ' ')}, private, with production's flags; mock providers up with no rate limits; ` +
      'the real producer (createSignup) and the real handlers in worker processes of their own with BullMQ\'s limiters lifted, ' +
      `unless it says no-op. Other people's work shares this machine: "load" is \`uptime\`'s 1, 5 and 15 min load averages ` +
      `just before each measurement (${loadText(data.loadAtStart)} before this scenario started), which include this ` +
      'scenario\'s own previous step; the "other" cores below, the busy time none of its processes took during a drain, ' +
      'show the rest of the machine\'s work better.',
    '### Valkey\'s cost per signup',
    markdownTable(
      ['per signup', `flow: ${count(flowRound.built)} at ${size.flow.perSecond}/s`, `backlog: ${count(backlogRound.built)}`, 'backlog: producer', 'backlog: workers'],
      costRows,
    ),
    `One worker process serving all four queues. **Flow**: signups produced at a steady ${size.flow.perSecond}/s with the workers ` +
      `running, as in production below saturation (load ${loadText(firstOf(flowRound).load)}). **Backlog**: signups built into ` +
      'paused queues (the producer\'s share, no worker taking a job), then drained (the workers\' share): the regime at ' +
      `saturation, where a worker always finds a next job (load ${loadText(firstOf(backlogRound).load)}). Waiting costs ` +
      `${fixed(idleMsPerSecond, 1)} ms of main-thread CPU per second (Valkey's timers, the idle worker's blocking reads, ` +
      `measured for ${fixed(idle.seconds, 1)} s), taken out above. The follow-up email waits in PostgreSQL, not Valkey. Not ` +
      'included: the status page\'s poll (a few reads a second while a user watches it), the admin\'s reads, and analytics ' +
      'shedding\'s one read a second per web process. The benchmark\'s own polling for the end of a drain is under 1%.',
    markdownTable(['command, backlog (top by calls)', 'calls per signup', 'time in it per signup'], commandRows),
    'Valkey counts a command a script calls under its own name, and in the script\'s time too, so EVALSHA\'s time includes ' +
      'the commands it ran; the times do not add up, and on a busy machine they include waits for a core.',
    '### Where one Valkey primary saturates',
    `Estimate: **${rate(saturation)} signups/s** (${rate(saturation * QUEUE_NAMES.length)} jobs/s) = (1,000 − ` +
      `${fixed(idleMsPerSecond, 1)}) ms ÷ ${fixed(perSignupCpu, 3)} ms of main-thread CPU per signup in the backlog regime. Below ` +
      `saturation a signup costs ${fixed(flowCpu, 3)} ms (flow), so Valkey's load at a given rate is about rate × that. The ` +
      'estimate assumes the cost per signup holds as the rate rises (with more clients at once Valkey reads more commands ' +
      'per wake-up, so it is rather a floor); replicas, AOF rewrites and the web\'s status reads would lower it.',
    markdownTable(
      [
        'no-op processes × jobs in flight',
        'jobs/s',
        'Valkey main thread',
        'machine busy',
        'no-op processes (cores)',
        'limit',
        'Valkey CPU per job run',
        'addBulk jobs/s, Valkey busy, CPU per job',
        'load',
      ],
      noOpRows,
    ),
    `Cross-check: BullMQ workers whose processor does nothing, ${count(size.noOp.perQueue)} jobs per queue shaped like the ` +
      `signup's (names, options, id-only payload), added with addBulk into paused queues, then resumed for ` +
      `${noOp.map((run) => run.processes).join(', ')} no-op worker processes. ` +
      `"Limit" says Valkey when its main thread was above ${percent(SATURATED)} of a core, the machine when its cores were, ` +
      `else neither. A no-op job costs Valkey ${fixed(noOpJobCpu, 4)} ms to add and run at the best rate, so one primary would ` +
      `take about ${rate(1_000 / noOpJobCpu)} of them a second, against ${rate(saturation * QUEUE_NAMES.length)} of the ` +
      `signup's jobs: one of those, with its share of the producer, breakers, idempotency keys and metrics, costs ` +
      `${fixed(perSignupCpu / QUEUE_NAMES.length / noOpJobCpu, 1)}× a no-op's.`,
    `### Worker processes: ${scaling.map((run) => run.processes).join(', ')}`,
    markdownTable(
      [
        'processes',
        'jobs/s',
        ...QUEUE_NAMES.map((queue) => `${queue} /s`),
        'machine busy',
        ...USERS.map((user) => `${user.name} (cores)`),
        'Valkey main thread',
        'worker processes + sandboxes, start → end',
        'load',
      ],
      scalingRows,
    ),
    `Each: ${count(size.scaling.signups)} signups (${count(size.scaling.signups * QUEUE_NAMES.length)} jobs) built into paused ` +
      'queues, then resumed at once for that many processes, each running workers/main.ts\'s queue workers ' +
      '(bench/harness/lifted-limits-worker.ts) at production\'s concurrency (email 20, CRM 5, avatar 2 sandboxed renders, ' +
      'analytics 20) and database pool (10). A queue\'s rate runs from the resume to its last job\'s end, the total to the last ' +
      'of all. Cores are means over the drain (1 = one core busy throughout); "other" is the rest of the machine\'s busy time, ' +
      'other people\'s work included.',
    '### One worker process, each queue alone',
    markdownTable(
      ['queue', 'jobs/s alone', 'beside the other three', 'machine busy', 'worker + sandboxes (cores)', 'PostgreSQL (cores)', 'Valkey main thread', 'dead-lettered', 'load'],
      aloneRows,
    ),
    `Another ${count(size.scaling.signups)} signups for the same process; each queue resumed in turn while the others stayed ` +
      'paused. "Beside the other three" is the one-process row above. The pipeline-throughput scenario runs the same ' +
      'workers inside the benchmark\'s process instead, beside the mock providers.',
  ].join('\n\n');

  const targets: TargetCheck[] = [
    {
      target: 'Valkey cost per signup (createSignup and its four jobs, backlog)',
      measured:
        `${fixed(backlog.commandsRun / backlogRound.built, 1)} commands (${fixed(scriptCalls(backlog) / backlogRound.built, 1)} script calls), ` +
        `${bytes(backlog.netInputBytes / backlogRound.built)} in, ${bytes(backlog.netOutputBytes / backlogRound.built)} out, ` +
        `${fixed(perSignupCpu, 3)} ms of main-thread CPU (${fixed(flowCpu, 3)} ms in flow at ${size.flow.perSecond}/s)`,
    },
    {
      target: 'signups/s one Valkey primary takes (1,000 ms ÷ CPU per signup)',
      measured: `≈ ${rate(saturation)}/s (${rate(saturation * QUEUE_NAMES.length)} jobs/s)`,
    },
    {
      target: 'cross-check: BullMQ no-op jobs pushed as hard as this machine can',
      measured:
        best && bestPhase
          ? `${rate(bestPhase.jobsPerSecond)} jobs/s (${best.processes} processes): ` +
            `Valkey main thread ${percent(bestPhase.valkey.mainThreadUtilisation)}, ` +
            `machine ${percent(bestPhase.cpu.machineBusy)} busy; limit: ${limitOf(bestPhase)}`
          : 'n/a',
    },
    {
      target: `jobs/s with ${scaling.map((run) => run.processes).join(' / ')} worker processes (machine busy)`,
      measured: scaling.map((run) => `${rate(backlogPhase(run).jobsPerSecond)} (${percent(backlogPhase(run).cpu.machineBusy)})`).join(' / '),
    },
    {
      target: 'one worker process, each queue alone (jobs/s)',
      measured: alone.map((phase) => `${phase.served[0]} ${rate(phase.jobsPerSecond)}`).join(', '),
    },
  ];
  return {
    markdown,
    targets,
    charts: capacityCharts(data),
    data: { ...data, derived: { idleMsPerSecond, perSignupCpu, flowCpu, saturation, noOpJobCpu } },
  };
}

function firstOf(round: Round): Phase {
  const [phase] = round.phases;
  if (!phase) throw new Error(`a ${round.kind} round without a phase`);
  return phase;
}

function scriptCalls(work: ValkeyWork): number {
  return work.byCommand.filter(({ command }) => /^eval/.test(command)).reduce((sum, { calls }) => sum + calls, 0);
}

function totalJobs(round: Round): number {
  return Object.values(round.jobs).reduce((sum, count) => sum + count, 0);
}

function limitOf(phase: Phase): string {
  if (phase.valkey.mainThreadUtilisation >= SATURATED) return 'Valkey';
  if (phase.cpu.machineBusy >= SATURATED) return 'the machine\'s cores';
  return 'neither';
}

function loadText(load: LoadAverage): string {
  return `${load.one.toFixed(2)} ${load.five.toFixed(2)} ${load.fifteen.toFixed(2)}`;
}

function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}

function bytes(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value < 1_024 ? `${value.toFixed(0)} B` : `${(value / 1_024).toFixed(1)} KiB`;
}
