// Issue #8, scenario 2: how many jobs per second the whole pipeline finishes with real handlers,
// beside BullMQ's own ceiling on the same server: the same number of jobs, the same options and the
// same concurrency per queue, processed by `async () => undefined`. The ratio is what the
// reliability machinery costs (payload validation, circuit breakers, idempotency keys, recorded
// effects, metrics, the providers' round trips), since everything else is held equal.
//
// Both sides drain a backlog: all jobs are enqueued first, then the workers start, and jobs/s runs
// from the workers' start to the last job's end. Producing and consuming at once would share the
// two cores between createSignup's transactions and the workers, and the rate would be the
// producer's; a backlog gives the rate the consumers sustain, which is what the no-op side measures
// too. The producer's own rate is reported beside it.
//
// Two passes on fresh prefixes of one Valkey: all four queues (the production shape), then the
// three network queues without the avatar worker, because rendering a PNG with sharp is CPU work
// that a no-op cannot have and that, on two cores, also slows the queues running beside it. In each
// pass the no-op side runs just before and just after ours and the ratio uses their mean: a
// one-second no-op run can land on a busy second of this shared machine, and the two runs show how
// much that happened.
import type { QueueName } from '@/lib/config';
import { QUEUE_NAMES } from '@/lib/queues';
import { QUEUE_RUNTIME } from '@/workers/runtime/start-workers';
import { startBenchStack } from '@/bench/harness/bench-stack';
import { drainNoOp, drainOurs, type Drain } from '@/bench/harness/pipeline-drain';
import { markdownTable, type Scenario, type TargetCheck } from '@/bench/harness/scenario';
import { percent, perSecond, rate } from '@/bench/harness/throughput';
import { jobsPerSecond, noOpPerSecond, pipelineCharts, type Pass } from '@/bench/scenarios/pipeline-throughput-charts';

/** The reliability machinery may cost at most ~3× (issue #8). */
const TARGET_SHARE = 0.35;

const NETWORK_QUEUES: readonly QueueName[] = QUEUE_NAMES.filter((queue) => queue !== 'avatar');

export const scenario: Scenario = {
  id: 'pipeline-throughput',
  title: 'Pipeline throughput: real handlers against BullMQ with a no-op processor',
  async run({ quick, progress }) {
    const signups = quick ? 50 : 2_000;
    const deadlineMs = quick ? 30_000 : 600_000;
    const stack = await startBenchStack({ unlimitedProviders: true });
    try {
      // BullMQ's first Worker in a process runs cold (script loading, JIT): not what either side measures.
      await drainNoOp({ url: stack.valkeyUrl, served: QUEUE_NAMES, count: quick ? 20 : 500, deadlineMs, progress: () => undefined });
      const passes: Pass[] = [];
      for (const [name, served] of [
        ['all four queues', QUEUE_NAMES],
        ['network queues (no avatar worker)', NETWORK_QUEUES],
      ] as const) {
        progress(`${name}: ${signups} signups, ${signups * served.length} jobs on each side`);
        const target = { url: stack.valkeyUrl, served, count: signups, deadlineMs, progress };
        const before = await drainNoOp(target);
        progress(`no-op: ${rate(jobsPerSecond(before))} jobs/s`);
        const ours = await drainOurs(stack.config, target);
        progress(`ours: ${rate(jobsPerSecond(ours))} jobs/s`);
        const after = await drainNoOp(target);
        progress(`no-op again: ${rate(jobsPerSecond(after))} jobs/s`);
        passes.push({ name, served, noOp: [before, after], ours });
      }
      return report(passes, { quick, signups, serverVersion: stack.serverVersion });
    } finally {
      await stack.close();
    }
  },
};

function report(passes: Pass[], { quick, signups, serverVersion }: { quick: boolean; signups: number; serverVersion: string }) {
  const [all, network] = passes as [Pass, Pass];
  const share = (pass: Pass) => jobsPerSecond(pass.ours) / noOpPerSecond(pass);
  // The same three queues, read from the four-queue pass: slowed by the renders running beside them.
  const networkBesideAvatar = jobsPerSecond(all.ours, NETWORK_QUEUES) / noOpPerSecond(all, NETWORK_QUEUES);

  const tables = passes.map((pass) => {
    const rows = pass.served.map((queue) => {
      const noOp = noOpPerSecond(pass, [queue]);
      const ours = jobsPerSecond(pass.ours, [queue]);
      const tally = pass.ours.tallies[queue];
      return [
        `${queue} (concurrency ${QUEUE_RUNTIME[queue].concurrency})`,
        pass.ours.jobs[queue] ?? 0,
        rate(noOp),
        rate(ours),
        percent(ours / noOp),
        tally ? `${tally.retried} / ${tally.failed}` : 'n/a',
      ];
    });
    const total = (drain: Drain) => Object.values(drain.jobs).reduce((sum, count) => sum + count, 0);
    rows.push([
      `**${pass.name}**`,
      total(pass.ours),
      `**${rate(noOpPerSecond(pass))}** (${pass.noOp.map((drain) => rate(jobsPerSecond(drain))).join(' then ')})`,
      `**${rate(jobsPerSecond(pass.ours))}**`,
      `**${percent(share(pass))}**`,
      '',
    ]);
    return [
      `### ${pass.name[0]?.toUpperCase()}${pass.name.slice(1)}`,
      markdownTable(['queue', 'jobs', 'no-op jobs/s (mean of before, after)', 'ours jobs/s', 'ours ÷ no-op', 'ours retried / dead-lettered'], rows),
      `Backlog built in ${seconds(pass.ours.enqueueMs)} by createSignup (${rate(perSecond(signups, pass.ours.enqueueMs))} signups/s, ` +
        `${rate(perSecond(total(pass.ours), pass.ours.enqueueMs))} jobs/s into Valkey) and in ${each(pass.noOp, (drain) => seconds(drain.enqueueMs))} by addBulk; ` +
        `drained in ${seconds(pass.ours.totalDrainMs)} (ours) and ${each(pass.noOp, (drain) => seconds(drain.totalDrainMs))} (no-op). ` +
        `CPU of the benchmark's process per job while draining: ${cpuPerJob(pass.ours)} (ours, ` +
        `${percent(pass.ours.cpuMs / pass.ours.totalDrainMs)} of one core), ${each(pass.noOp, cpuPerJob)} (no-op). ` +
        `First enqueue to last completion, ours: ${seconds(pass.ours.enqueueMs + pass.ours.totalDrainMs)}.`,
    ].join('\n\n');
  });

  const markdown = [
    `${signups.toLocaleString('en-US')} signups per side and pass, ${serverVersion.replace('_version:', ' ')}, workers in the benchmark's process ` +
      'with the mock providers beside them (as one worker process would run them, plus the providers\' CPU).',
    ...tables,
    '### How it was measured',
    [
      '- **Ours**: the real producer (`createSignup`: one transaction for the user and its outbox rows, then the four jobs to Valkey; ' +
        'the "getting started" email is due in three days, so it stays in the outbox) builds the backlog; `startWorkers` then runs the ' +
        'real handlers at production concurrency (email 20, CRM 5, avatar 2 in sandboxed children, analytics 20).',
      '- **Lifted quotas**: the mock providers run without rate limits and the BullMQ limiters are raised to 100,000 jobs/s, because ' +
        'the point is the machinery, not the providers\' quotas (with them, email would be capped at 80/s and the CRM at 40/s by design).',
      '- **No-op**: the same queue names, job names, payload shape and job options (retention, attempts, priority), `Queue.addBulk` ' +
        'in chunks of 1,000, then a plain `Worker` per queue at the same concurrency running `async () => undefined`: no metrics, ' +
        'telemetry, limiter or lock overrides, which are part of what ours pays for. It runs just before and just after ours, on ' +
        'fresh prefixes, and the ratio uses the mean of the two: their gap shows how much the machine\'s other load moved.',
      '- Jobs/s = jobs ÷ (workers\' start → last job ended); a queue\'s own rate uses its own last job. Both sides log nothing.',
      '- CPU per job is this process\'s user + system time while draining ÷ jobs: the workers, BullMQ\'s client and the in-process ' +
        'mock providers; not PostgreSQL, Valkey or the sandboxed avatar renders. A Node process runs its JavaScript on one core, ' +
        'so one that needs n ms per job cannot pass 1,000 ÷ n jobs/s: near 100% of one core, ours is bound by its own per-job ' +
        'work (the handlers\' SQL, the provider calls, breakers and metrics), while the no-op side is bound by ' +
        'Valkey. More worker processes would raise ours; the ratio is per process.',
      `- **The fair comparison is the network queues without the avatar worker** (${percent(share(network))}). Avatar rendering is ` +
        `CPU-bound work (sharp, one render per core): the no-op has no such work to do, so including it measures sharp, not the ` +
        `machinery (${percent(share(all))} with all four queues). Its renders also take the CPU from the queues beside it: the same ` +
        `three queues reach ${percent(networkBesideAvatar)} of the no-op while avatars render, against ${percent(share(network))} alone.`,
    ].join('\n'),
  ].join('\n\n');

  const judged = (value: number) => (quick ? undefined : value >= TARGET_SHARE);
  const measured = (pass: Pass) =>
    `${rate(jobsPerSecond(pass.ours))} vs ${rate(noOpPerSecond(pass))} jobs/s = ${percent(share(pass))}`;
  const targets: TargetCheck[] = [
    {
      target: 'our jobs/s ≥ 35% of raw no-op at the same concurrency (email, CRM, analytics: the machinery)',
      measured: measured(network),
      met: judged(share(network)),
    },
    {
      target: 'the same with all four queues, CPU-bound avatar rendering included',
      measured: measured(all),
      met: judged(share(all)),
    },
  ];

  const data = { signups, serverVersion, targetShare: TARGET_SHARE, passes };
  return { markdown, targets, charts: pipelineCharts(data), data };
}

function cpuPerJob(drain: Drain): string {
  const jobs = Object.values(drain.jobs).reduce((sum, count) => sum + count, 0);
  return `${(drain.cpuMs / jobs).toFixed(2)} ms`;
}

function each(drains: readonly Drain[], show: (drain: Drain) => string): string {
  return drains.map(show).join(' then ');
}

function seconds(ms: number): string {
  return `${(ms / 1_000).toFixed(1)} s`;
}
