// Where the machine's cores went during a measurement: the whole machine's busy share from
// /proc/stat, and the part of it taken by the processes a scenario knows (its worker processes and
// their children, this process, the PostgreSQL backends of its database), each in cores. What is
// left is everything else on the machine, including other people's work, which the load averages
// recorded beside each measurement also show.
import { availableParallelism, loadavg } from 'node:os';
import { readFileSync } from 'node:fs';
import { cpuSeconds, descendantPids } from '@/bench/harness/app-processes';
import type { Db } from '@/lib/db';

export interface LoadAverage {
  /** ISO time of the reading. */
  at: string;
  one: number;
  five: number;
  fifteen: number;
}

/** What `uptime` prints as "load average": runnable and waiting processes, 1, 5 and 15 min means. */
export function loadAverage(): LoadAverage {
  const [one = Number.NaN, five = Number.NaN, fifteen = Number.NaN] = loadavg();
  return { at: new Date().toISOString(), one, five, fifteen };
}

interface MachineTicks {
  busy: number;
  total: number;
}

/**
 * The first line of /proc/stat, summed over every core, in USER_HZ ticks: user, nice, system, idle,
 * iowait, irq, softirq, steal. Idle and iowait are the time no process could use; guest time is
 * already inside user.
 */
function machineTicks(): MachineTicks {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1, 9).map(Number);
  const total = fields.reduce((sum, value) => sum + value, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

export interface CpuSnapshot {
  /** performance.now() */
  at: number;
  machine: MachineTicks;
  /** CPU seconds so far of each process of a group, by pid: one that exits later is not lost. */
  workers: Map<number, number>;
  benchProcess: number;
  postgres: Map<number, number>;
}

export interface CpuSources {
  /** Worker processes: each is counted with its children (avatar sandboxes). */
  workerPids: readonly number[];
  /** The scenario's database client: its backends are found in pg_stat_activity by database name. */
  db: Db;
}

export async function cpuSnapshot({ workerPids, db }: CpuSources): Promise<CpuSnapshot> {
  const backends = await db.$queryRaw<Array<{ pid: number }>>`
    SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`;
  const own = process.cpuUsage();
  const byPid = (pids: readonly number[]) => new Map(pids.map((pid) => [pid, cpuSeconds(pid)]));
  return {
    at: performance.now(),
    machine: machineTicks(),
    workers: byPid(workerPids.flatMap((pid) => [pid, ...descendantPids(pid)])),
    benchProcess: (own.user + own.system) / 1e6,
    postgres: byPid(backends.map(({ pid }) => pid)),
  };
}

export interface CpuUse {
  seconds: number;
  cores: number;
  /** Busy share of all cores, 0 to 1. */
  machineBusy: number;
  /** Cores used on average over the interval by each known group (1 = one core all the time). */
  workers: number;
  /** Worker processes and their children at the start and the end: more at the end means forks. */
  workerProcesses: { from: number; to: number };
  /** This process: the mock providers, the benchmark's own polling and, for in-process drains, the workers. */
  benchProcess: number;
  /** Backends of the scenario's database; a backend that closed during the interval is missed. */
  postgres: number;
}

/**
 * Averages over the interval. A process that started during it counts from zero; one that exited
 * during it is missed (the pool connections and sandboxes measured here live through a drain).
 */
export function cpuBetween(from: CpuSnapshot, to: CpuSnapshot): CpuUse {
  const seconds = (to.at - from.at) / 1_000;
  const perSecond = (value: number) => (seconds > 0 ? value / seconds : Number.NaN);
  const grown = (before: Map<number, number>, after: Map<number, number>) =>
    [...after].reduce((sum, [pid, used]) => sum + Math.max(0, used - (before.get(pid) ?? 0)), 0);
  const total = to.machine.total - from.machine.total;
  return {
    seconds,
    cores: availableParallelism(),
    machineBusy: total > 0 ? (to.machine.busy - from.machine.busy) / total : Number.NaN,
    workers: perSecond(grown(from.workers, to.workers)),
    workerProcesses: { from: from.workers.size, to: to.workers.size },
    benchProcess: perSecond(to.benchProcess - from.benchProcess),
    postgres: perSecond(grown(from.postgres, to.postgres)),
  };
}
