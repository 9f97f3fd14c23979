// What a queue backend costs beside its timings, read around one phase of the backends scenario:
// the CPU of this process (the producer and the worker both run here), the CPU and peak memory of
// the server, and for a PostgreSQL backend what people fear from a table used as a queue: the size of
// its tables and indexes, dead tuples, WAL written and autovacuum runs.
//
// Server CPU: a key-value server reports its own (INFO cpu, every thread). PostgreSQL runs a process
// per connection, which come and go during a phase, so the meter reads the whole server from the
// postmaster: its own CPU, the CPU its exited children left it (cutime and cstime in /proc, which a
// parent collects as it reaps them) and that of every child still running. That counts every
// backend, autovacuum worker, the WAL writer and the checkpointer, and it counts whatever else the
// machine's PostgreSQL does meanwhile: the scenario runs its PostgreSQL phases one at a time, and
// the report says so. WAL is counted from the server's own position, for the same reason the same
// way. Memory is the backend's own database's processes, polled.
import { setTimeout as sleep } from 'node:timers/promises';
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import pg from 'pg';
import { cpuSeconds, rssBytes } from '@/bench/harness/app-processes';
import type { BackendStore, QueueBackend } from '@/bench/harness/queue-backends';

const SAMPLE_EVERY_MS = 500;
/**
 * PostgreSQL's table counters reach pg_stat_user_tables when each backend flushes its own: at most
 * once a second while it works, and within 10 s once it is idle (PGSTAT_IDLE_INTERVAL). A reading
 * taken this long after a phase has every backend's.
 */
const STATS_FLUSHED_AFTER_MS = 11_000;

export interface PostgresStorage {
  tableBytes: number;
  indexBytes: number;
  liveTuples: number;
  deadTuples: number;
  autovacuumRuns: number;
  autoanalyzeRuns: number;
}

export interface PhaseCost {
  wallMs: number;
  /** This process, user + system. */
  clientCpuMs: number;
  /** The highest resident set size seen during the phase. */
  clientPeakRssBytes: number;
  serverCpuMs: number;
  /** The highest seen: key-value used_memory_rss; PostgreSQL, the database's backends' private memory together. */
  serverPeakMemoryBytes: number;
  /** PostgreSQL only. */
  walBytes?: number;
  storageAfter?: PostgresStorage;
  /** autovacuum and autoanalyze runs during the phase. */
  autovacuumRuns?: number;
  autoanalyzeRuns?: number;
}

export interface CostMeter {
  stop(): Promise<PhaseCost>;
}

interface ServerReader {
  cpuMs(): Promise<number>;
  memoryBytes(): Promise<number>;
  close(): Promise<void>;
  postgres?: { walPosition(): Promise<bigint>; storage(): Promise<PostgresStorage> };
}

/** Starts counting now; `stop()` returns what the phase cost. */
export async function startCostMeter(backend: QueueBackend): Promise<CostMeter> {
  const server = await serverReader(backend.store);
  const started = performance.now();
  const cpuAtStart = process.cpuUsage();
  const serverCpuAtStart = await server.cpuMs();
  const walAtStart = await server.postgres?.walPosition();
  const storageAtStart = await server.postgres?.storage();
  let peakRss = process.memoryUsage().rss;
  let serverPeak = await server.memoryBytes();
  const sampleMemory = async () => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    serverPeak = Math.max(serverPeak, await server.memoryBytes());
  };
  // A failed reading (the server busy) skips one interval, never the phase.
  const sampler = setInterval(() => void sampleMemory().catch(() => undefined), SAMPLE_EVERY_MS);
  return {
    async stop() {
      clearInterval(sampler);
      await sampleMemory();
      const wallMs = performance.now() - started;
      const cpu = process.cpuUsage(cpuAtStart);
      const cost: PhaseCost = {
        wallMs,
        clientCpuMs: (cpu.user + cpu.system) / 1_000,
        clientPeakRssBytes: peakRss,
        serverCpuMs: (await server.cpuMs()) - serverCpuAtStart,
        serverPeakMemoryBytes: serverPeak,
      };
      if (server.postgres && walAtStart !== undefined && storageAtStart) {
        cost.walBytes = Number((await server.postgres.walPosition()) - walAtStart);
        await sleep(STATS_FLUSHED_AFTER_MS);
        const storage = await server.postgres.storage();
        cost.storageAfter = storage;
        cost.autovacuumRuns = storage.autovacuumRuns - storageAtStart.autovacuumRuns;
        cost.autoanalyzeRuns = storage.autoanalyzeRuns - storageAtStart.autoanalyzeRuns;
      }
      await server.close();
      return cost;
    },
  };
}

async function serverReader(store: BackendStore): Promise<ServerReader> {
  return store.kind === 'key-value' ? keyValueReader(store.url) : postgresReader(store.url, store.database);
}

async function keyValueReader(url: string): Promise<ServerReader> {
  const client = new Redis(url, { maxRetriesPerRequest: null });
  const field = async (section: string, name: string) => Number(new RegExp(`^${name}:(\\S+)`, 'm').exec(await client.info(section))?.[1]);
  return {
    cpuMs: async () => ((await field('cpu', 'used_cpu_user')) + (await field('cpu', 'used_cpu_sys'))) * 1_000,
    memoryBytes: () => field('memory', 'used_memory_rss'),
    close: async () => client.disconnect(),
  };
}

async function postgresReader(url: string, database: string): Promise<ServerReader> {
  const client = new pg.Client({ connectionString: url });
  // Dropping the backend's database (its close(), WITH (FORCE)) ends this connection too; without
  // a listener that 'error' would end the process. A reading after it fails, and says so.
  client.on('error', () => undefined);
  await client.connect();
  const ownPid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid ?? 0;
  const postmaster = parentPid(ownPid);
  const backendPids = async () =>
    (
      await client.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity
          WHERE datname = $1 AND pid <> $2 AND backend_type IN ('client backend', 'autovacuum worker')`,
        [database, ownPid],
      )
    ).rows.map((row) => row.pid);
  return {
    async cpuMs() {
      return serverCpuSeconds(postmaster) * 1_000;
    },
    async memoryBytes() {
      return (await backendPids()).reduce((sum, pid) => sum + privateBytes(pid), 0);
    },
    async close() {
      await client.end();
    },
    postgres: {
      async walPosition() {
        const lsn = (await client.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]?.lsn ?? '0/0';
        const [high = '0', low = '0'] = lsn.split('/');
        return (BigInt(`0x${high}`) << 32n) + BigInt(`0x${low}`);
      },
      async storage() {
        const row = (
          await client.query<Record<keyof PostgresStorage, string | null>>(
            `SELECT sum(pg_table_size(relid)) AS "tableBytes", sum(pg_indexes_size(relid)) AS "indexBytes",
                    sum(n_live_tup) AS "liveTuples", sum(n_dead_tup) AS "deadTuples",
                    sum(autovacuum_count) AS "autovacuumRuns", sum(autoanalyze_count) AS "autoanalyzeRuns"
               FROM pg_stat_user_tables`,
          )
        ).rows[0];
        const value = (name: keyof PostgresStorage) => Number(row?.[name] ?? 0);
        return {
          tableBytes: value('tableBytes'),
          indexBytes: value('indexBytes'),
          liveTuples: value('liveTuples'),
          deadTuples: value('deadTuples'),
          autovacuumRuns: value('autovacuumRuns'),
          autoanalyzeRuns: value('autoanalyzeRuns'),
        };
      },
    },
  };
}

const USER_HZ = 100;

/** The fields of /proc/<pid>/stat after the command name, which may itself hold spaces. */
function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

function parentPid(pid: number): number {
  const parent = Number(statFields(pid)[1]);
  if (!Number.isInteger(parent) || parent <= 1) throw new Error(`no PostgreSQL postmaster above backend ${pid}`);
  return parent;
}

/** A process tree's CPU seconds so far: its own, its reaped children's, and its live children's. */
function serverCpuSeconds(postmaster: number): number {
  const fields = statFields(postmaster);
  // utime, stime, cutime, cstime: fields 14 to 17 of stat, 12 to 15 after the name.
  const own = [11, 12, 13, 14].reduce((sum, index) => sum + Number(fields[index]), 0) / USER_HZ;
  const children = readFileSync(`/proc/${postmaster}/task/${postmaster}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  return own + children.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
}

/**
 * A server process's own memory: its private pages, not the shared buffers every process of the
 * server maps (which its RSS would count once per process). Falls back to RSS where smaps_rollup
 * cannot be read.
 */
function privateBytes(pid: number): number {
  try {
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kib = ['Private_Clean', 'Private_Dirty'].reduce((sum, name) => sum + Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(rollup)?.[1] ?? 0), 0);
    return kib * 1_024;
  } catch {
    return rssBytes(pid);
  }
}

export interface AutovacuumSwitch {
  /** What the server had before: `on`, or `off` with the file that says so. */
  before: string;
  restore(): Promise<void>;
}

/**
 * Turns PostgreSQL's autovacuum on for the scenario's run, if the server has it off. A table queue
 * leans on autovacuum to reclaim the dead tuples every job leaves, so a server without it (this
 * machine's is configured so, for its test runs) would measure queues that are never cleaned and
 * slow down as they bloat: set up to lose. `autovacuum` can only be set for the whole server:
 * ALTER SYSTEM and a reload turn it on, and restore() puts back what was there (a reset, or the
 * value postgresql.auto.conf held).
 */
export async function autovacuumOn(serverUrl: string): Promise<AutovacuumSwitch> {
  // The server's own `postgres` database: the URL's may not exist yet.
  const url = new URL(serverUrl);
  url.pathname = '/postgres';
  const run = async <T extends pg.QueryResultRow>(statement: string): Promise<T[]> => {
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    try {
      return (await client.query<T>(statement)).rows;
    } finally {
      await client.end();
    }
  };
  const [current] = await run<{ setting: string; sourcefile: string | null }>(
    "SELECT setting, sourcefile FROM pg_settings WHERE name = 'autovacuum'",
  );
  const before = current?.setting === 'on' ? 'on' : `off (${current?.sourcefile ?? 'server default'})`;
  if (current?.setting === 'on') return { before, restore: async () => undefined };
  const setInAutoConf = current?.sourcefile?.endsWith('postgresql.auto.conf') ?? false;
  await run('ALTER SYSTEM SET autovacuum = on');
  await run('SELECT pg_reload_conf()');
  return {
    before,
    async restore() {
      await run(setInAutoConf ? 'ALTER SYSTEM SET autovacuum = off' : 'ALTER SYSTEM RESET autovacuum');
      await run('SELECT pg_reload_conf()');
    },
  };
}
