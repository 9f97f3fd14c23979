// What Valkey did between two moments, read from its own counters: commands (INFO commandstats and
// total_commands_processed), bytes on the wire (INFO stats) and CPU (INFO cpu). Valkey runs every
// command on one thread, so the main thread's CPU is what saturates first: at 1,000 ms of it per
// second, one primary can do no more, however many cores the machine has.
import type { Redis } from 'ioredis';

/** One INFO reply, as numbers where the value is one. Several sections at once (Valkey 7+). */
export async function infoFields(connection: Redis, ...sections: string[]): Promise<Record<string, number | string>> {
  const fields: Record<string, number | string> = {};
  const reply = String(await connection.call('INFO', ...sections));
  for (const line of reply.split('\r\n')) {
    const at = line.indexOf(':');
    if (at <= 0 || line.startsWith('#')) continue;
    const value = line.slice(at + 1);
    fields[line.slice(0, at)] = /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
  }
  return fields;
}

export interface ValkeyCounters {
  /** performance.now() */
  at: number;
  /** total_commands_processed: in Valkey 8 it counts the commands scripts call too. */
  commandsProcessed: number;
  netInputBytes: number;
  netOutputBytes: number;
  /** used_cpu_user + used_cpu_sys of the command thread, and of the whole process (AOF, I/O threads). */
  mainThreadCpuMs: number;
  processCpuMs: number;
  /** Per command, those scripts call included (BullMQ's work is mostly Lua). */
  commands: Record<string, { calls: number; usec: number }>;
}

export async function valkeyCounters(connection: Redis): Promise<ValkeyCounters> {
  const info = await infoFields(connection, 'stats', 'cpu', 'commandstats');
  const number = (key: string) => Number(info[key] ?? Number.NaN);
  const commands: ValkeyCounters['commands'] = {};
  for (const [key, value] of Object.entries(info)) {
    if (!key.startsWith('cmdstat_')) continue;
    const stat = Object.fromEntries(String(value).split(',').map((pair) => pair.split('=', 2) as [string, string]));
    commands[key.slice('cmdstat_'.length)] = { calls: Number(stat.calls ?? 0), usec: Number(stat.usec ?? 0) };
  }
  // Redis before 7 and some forks report no main-thread figures: the process's stand in for them.
  const mainThread = number('used_cpu_user_main_thread') + number('used_cpu_sys_main_thread');
  const processCpu = number('used_cpu_user') + number('used_cpu_sys');
  return {
    at: performance.now(),
    commandsProcessed: number('total_commands_processed'),
    netInputBytes: number('total_net_input_bytes'),
    netOutputBytes: number('total_net_output_bytes'),
    mainThreadCpuMs: (Number.isFinite(mainThread) ? mainThread : processCpu) * 1_000,
    processCpuMs: processCpu * 1_000,
    commands,
  };
}

export interface CommandWork {
  command: string;
  calls: number;
  /** Time Valkey spent in it, µs (for EVALSHA: the whole script, its inner commands included). */
  usec: number;
}

export interface ValkeyWork {
  seconds: number;
  commandsProcessed: number;
  /** Every command run, those scripts call included: the sum of commandstats' calls. */
  commandsRun: number;
  netInputBytes: number;
  netOutputBytes: number;
  mainThreadCpuMs: number;
  processCpuMs: number;
  /** Main-thread CPU ms per second: 1 is one core, the ceiling of one primary. */
  mainThreadUtilisation: number;
  /** Every command that ran, most calls first. */
  byCommand: CommandWork[];
}

/** What happened between `from` and `to`; the INFO that read `to` is counted, one command. */
export function valkeyWorkBetween(from: ValkeyCounters, to: ValkeyCounters): ValkeyWork {
  const seconds = (to.at - from.at) / 1_000;
  const byCommand = Object.entries(to.commands)
    .map(([command, stat]) => ({
      command,
      calls: stat.calls - (from.commands[command]?.calls ?? 0),
      usec: stat.usec - (from.commands[command]?.usec ?? 0),
    }))
    .filter((stat) => stat.calls > 0)
    .sort((a, b) => b.calls - a.calls);
  const mainThreadCpuMs = to.mainThreadCpuMs - from.mainThreadCpuMs;
  return {
    seconds,
    commandsProcessed: to.commandsProcessed - from.commandsProcessed,
    commandsRun: byCommand.reduce((sum, stat) => sum + stat.calls, 0),
    netInputBytes: to.netInputBytes - from.netInputBytes,
    netOutputBytes: to.netOutputBytes - from.netOutputBytes,
    mainThreadCpuMs,
    processCpuMs: to.processCpuMs - from.processCpuMs,
    mainThreadUtilisation: seconds > 0 ? mainThreadCpuMs / 1_000 / seconds : Number.NaN,
    byCommand,
  };
}

/** Two stretches of work as one, e.g. building a backlog and draining it. */
export function addWork(a: ValkeyWork, b: ValkeyWork): ValkeyWork {
  const calls = new Map<string, CommandWork>();
  for (const { command, calls: count, usec } of [...a.byCommand, ...b.byCommand]) {
    const sum = calls.get(command) ?? { command, calls: 0, usec: 0 };
    calls.set(command, { command, calls: sum.calls + count, usec: sum.usec + usec });
  }
  const seconds = a.seconds + b.seconds;
  const mainThreadCpuMs = a.mainThreadCpuMs + b.mainThreadCpuMs;
  return {
    seconds,
    commandsProcessed: a.commandsProcessed + b.commandsProcessed,
    commandsRun: a.commandsRun + b.commandsRun,
    netInputBytes: a.netInputBytes + b.netInputBytes,
    netOutputBytes: a.netOutputBytes + b.netOutputBytes,
    mainThreadCpuMs,
    processCpuMs: a.processCpuMs + b.processCpuMs,
    mainThreadUtilisation: seconds > 0 ? mainThreadCpuMs / 1_000 / seconds : Number.NaN,
    byCommand: [...calls.values()].sort((x, y) => y.calls - x.calls),
  };
}
