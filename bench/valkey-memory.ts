// How much memory Valkey needs once many signups have gone through: the figure docs/benchmarks.md
// gives for sizing the server (issue #5). Everything is the real code path on private
// infrastructure:
//
//   npm run bench:valkey-memory [-- --signups N]     default 100,000
//
// A bench stack of its own (bench/harness/bench-stack.ts: a private valkey-server with
// production's flags, append-only and noeviction; a throwaway migrated database; the mock
// providers in this process with their rate limits lifted) and a fresh queue prefix. The empty
// server is read first; then signups go through the real producer and the real workers
// (bench/harness/signup-memory-run.ts), used memory is sampled as they finish
// (memory-checkpoints.ts), and once every queue has drained, INFO memory and every key grouped by
// shape with its MEMORY USAGE (bench/valkey-keyspace.ts).
//
// Results: bench/results/valkey-memory-<date>.json and .md (a suffix -<N> when N is not the default),
// written by bench/harness/valkey-memory-report.ts.
import { randomBytes } from 'node:crypto';
import { startBenchStack } from '@/bench/harness/bench-stack';
import { measureSignupMemory } from '@/bench/harness/signup-memory-run';
import { machineDescription, writeValkeyMemoryReport } from '@/bench/harness/valkey-memory-report';
import { memorySnapshot, type MemorySnapshot } from '@/bench/valkey-keyspace';

const DEFAULT_SIGNUPS = 100_000;

async function main(): Promise<void> {
  const signups = signupsArgument();
  const started = Date.now();
  const elapsedS = () => Math.round((Date.now() - started) / 100) / 10;
  let baseline: MemorySnapshot | undefined;
  // Undone last to first on success or failure: its Valkey server would outlive us otherwise.
  const stack = await startBenchStack({
    unlimitedProviders: true,
    env: { QUEUE_PREFIX: `bench-memory-${randomBytes(4).toString('hex')}` },
    onServerStarted: async (probe) => {
      baseline = await memorySnapshot(probe);
    },
  });
  try {
    if (!baseline) throw new Error('the empty server was not read');
    const measured = await measureSignupMemory(stack, { signups, elapsedS, baseline });
    const date = new Date().toISOString();
    const valkeyVersion = /^valkey_version:(\S+)/.exec(stack.serverVersion)?.[1] ?? 'unknown';
    writeValkeyMemoryReport(
      {
        date,
        command: `npm run bench:valkey-memory${signups === DEFAULT_SIGNUPS ? '' : ` -- --signups ${signups}`}`,
        machine: machineDescription(valkeyVersion),
        ...measured,
      },
      `bench/results/valkey-memory-${date.slice(0, 10)}${signups === DEFAULT_SIGNUPS ? '' : `-${signups}`}`,
    );
  } finally {
    await stack.close();
  }
  // BullMQ's sandbox children and pools may linger a moment; the results are written.
  process.exit(0);
}

function signupsArgument(): number {
  const at = process.argv.indexOf('--signups');
  if (at === -1) return DEFAULT_SIGNUPS;
  const value = Number(process.argv[at + 1]);
  if (!Number.isInteger(value) || value < 1) throw new Error('--signups takes a positive whole number');
  return value;
}

await main();
