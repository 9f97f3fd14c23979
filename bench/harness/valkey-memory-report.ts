// bench/valkey-memory.ts's results: everything measured as JSON, and a markdown summary (used
// memory at each point of the run, what each queue keeps, every key pattern with its MEMORY
// USAGE), written side by side (bench/results/valkey-memory-<date>.json and .md) and printed.
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, machine, totalmem } from 'node:os';
import { dirname } from 'node:path';
import { QUEUE_NAMES } from '@/lib/queues';
import type { SignupMemoryRun } from '@/bench/harness/signup-memory-run';
import { formatBytes, type MemorySnapshot } from '@/bench/valkey-keyspace';

export type ValkeyMemoryResults = {
  date: string;
  command: string;
  machine: ReturnType<typeof machineDescription>;
} & SignupMemoryRun;

/** This machine, and the server's version with the flags bench-stack.ts starts it with. */
export function machineDescription(valkeyVersion: string) {
  return {
    nproc: availableParallelism(),
    arch: machine(),
    cpu: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 1024 ** 3),
    node: process.version,
    valkey: valkeyVersion,
    valkeyFlags: "--save '' --appendonly yes --maxmemory-policy noeviction",
  };
}

/** Writes `<stem>.json` and `<stem>.md`, and prints the markdown. */
export function writeValkeyMemoryReport(results: ValkeyMemoryResults, stem: string): void {
  mkdirSync(dirname(stem), { recursive: true });
  writeFileSync(`${stem}.json`, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(`${stem}.md`, markdown(results));
  console.log(`\n${markdown(results)}\nwritten to ${stem}.json and ${stem}.md`);
}

function markdown(r: ValkeyMemoryResults): string {
  const bytes = (value: number | string | undefined) => formatBytes(Number(value));
  const row = (label: string, s: MemorySnapshot) =>
    `| ${label} | ${bytes(s.usedMemory)} | ${bytes(s.usedMemoryDataset)} | ${bytes(s.usedMemoryRss)} | ${s.dbsize} |`;
  const m = r.final.memory;
  return [
    `# Valkey memory after ${r.run.signups.toLocaleString('en')} signups`,
    '',
    `\`${r.command}\` · ${r.machine.nproc} cores ${r.machine.arch} · Valkey ${r.machine.valkey} (${r.machine.valkeyFlags}) · wall time ${Math.round(r.run.wallTimeS)} s`,
    '',
    '| point | used_memory | used_memory_dataset | used_memory_rss | keys |',
    '|---|---|---|---|---|',
    row('empty server', r.baseline),
    row('workers started', r.idle),
    ...r.checkpoints.map((c) => row(`${c.at.toLocaleString('en')} signups processed (${Math.round(c.elapsedS)} s)`, c)),
    `| drained (final) | ${bytes(m.used_memory)} (${m.used_memory_human}) | ${bytes(m.used_memory_dataset)} | ${bytes(m.used_memory_rss)} | ${r.final.dbsize} |`,
    '',
    '| queue | completed kept | failed | events stream | metrics points |',
    '|---|---|---|---|---|',
    ...QUEUE_NAMES.map(
      (queue) =>
        `| ${queue} | ${r.final.jobCounts[queue]?.completed} | ${r.final.jobCounts[queue]?.failed} | ${r.final.queueSideKeys[queue]?.eventsStreamLength} | ${r.final.queueSideKeys[queue]?.completedMetricsPoints} |`,
    ),
    '',
    '| key pattern | type | keys | MEMORY USAGE total | per key |',
    '|---|---|---|---|---|',
    ...r.final.keyClasses.map(
      (c) => `| \`${c.pattern}\` | ${c.type} | ${c.keys} | ${bytes(c.bytes)} | ${bytes(Math.round(c.bytes / c.keys))} |`,
    ),
    '',
    'One completed job hash (MEMORY USAGE, SAMPLES 0): ' +
      r.final.sampleCompletedJobs.map((job) => `${job.queue} ${job.memoryUsageBytes} B`).join(', '),
    '',
  ].join('\n');
}
