// What Valkey holds, read from the server itself: INFO memory, and every key grouped by its shape
// with its type and MEMORY USAGE. Used by bench/valkey-memory.ts and the bench/harness/ modules it
// runs on, on a private server: SCAN walks the whole keyspace, so never point it at a shared one.
import type { Redis } from 'ioredis';
import { queuePrefix, QUEUE_NAMES, type QueueName, type QueueSet } from '@/lib/queues';
import { infoFields } from '@/bench/harness/valkey-work';

/** INFO memory, as numbers where the value is one. */
export type MemoryInfo = Record<string, number | string>;

export interface MemorySnapshot {
  usedMemory: number;
  usedMemoryHuman: string;
  usedMemoryDataset: number;
  usedMemoryRss: number;
  dbsize: number;
}

export interface KeyClass {
  /** The key with the queue prefix and every id replaced by placeholders. */
  pattern: string;
  type: string;
  keys: number;
  /** Sum of MEMORY USAGE over the class (SAMPLES 0: every element counted). */
  bytes: number;
}

export interface SampleJob {
  queue: QueueName;
  key: string;
  memoryUsageBytes: number;
  fields: Record<string, number>;
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
/** Keys per MEMORY USAGE pipeline: one round trip each, no long blocking batch on the server. */
const BATCH = 500;

export async function memoryInfo(connection: Redis): Promise<MemoryInfo> {
  return infoFields(connection, 'memory');
}

export async function memorySnapshot(connection: Redis): Promise<MemorySnapshot> {
  const info = await memoryInfo(connection);
  return {
    usedMemory: Number(info.used_memory),
    usedMemoryHuman: String(info.used_memory_human),
    usedMemoryDataset: Number(info.used_memory_dataset),
    usedMemoryRss: Number(info.used_memory_rss),
    dbsize: await connection.dbsize(),
  };
}

/** Every key on the server, grouped by pattern and type, largest total first. */
export async function keyClasses(connection: Redis, basePrefix: string): Promise<KeyClass[]> {
  const classes = new Map<string, KeyClass>();
  let cursor = '0';
  do {
    const [next, keys] = await connection.scan(cursor, 'COUNT', BATCH);
    cursor = next;
    const pipeline = connection.pipeline();
    for (const key of keys) pipeline.type(key).memory('USAGE', key, 'SAMPLES', 0);
    const replies = (await pipeline.exec()) ?? [];
    keys.forEach((key, index) => {
      const type = String(replies[index * 2]?.[1] ?? 'none');
      const bytes = Number(replies[index * 2 + 1]?.[1] ?? 0);
      const pattern = key.replaceAll(basePrefix, '<prefix>').replace(UUID, '<id>').replace(/:\d+(?=:|$)/g, ':<n>');
      const entry = classes.get(`${pattern}\u0000${type}`) ?? { pattern, type, keys: 0, bytes: 0 };
      entry.keys += 1;
      entry.bytes += bytes;
      classes.set(`${pattern}\u0000${type}`, entry);
    });
  } while (cursor !== '0');
  return [...classes.values()].sort((a, b) => b.bytes - a.bytes);
}

/** The newest completed job of each queue: its hash's MEMORY USAGE and the size of each field. */
export async function sampleCompletedJobs(connection: Redis, queues: QueueSet, basePrefix: string): Promise<SampleJob[]> {
  const samples: SampleJob[] = [];
  for (const queue of QUEUE_NAMES) {
    const [job] = await queues[queue].getCompleted(0, 0);
    if (!job?.id) continue;
    const key = `${queuePrefix(basePrefix, queue)}:${queue}:${job.id}`;
    const hash = await connection.hgetallBuffer(key);
    samples.push({
      queue,
      key: key.replace(basePrefix, '<prefix>'),
      memoryUsageBytes: Number(await connection.memory('USAGE', key, 'SAMPLES', 0)),
      fields: Object.fromEntries(Object.entries(hash).map(([field, value]) => [field, value.length])),
    });
  }
  return samples;
}

/** Per queue: the events stream's length and the metrics lists' lengths (one point a minute). */
export async function queueSideKeys(connection: Redis, basePrefix: string) {
  return Object.fromEntries(
    await Promise.all(
      QUEUE_NAMES.map(async (queue) => {
        const base = `${queuePrefix(basePrefix, queue)}:${queue}`;
        return [
          queue,
          {
            eventsStreamLength: await connection.xlen(`${base}:events`),
            completedMetricsPoints: await connection.llen(`${base}:metrics:completed:data`),
            failedMetricsPoints: await connection.llen(`${base}:metrics:failed:data`),
          },
        ] as const;
      }),
    ),
  ) as Record<QueueName, { eventsStreamLength: number; completedMetricsPoints: number; failedMetricsPoints: number }>;
}

export interface KeyspaceSummary {
  memory: MemoryInfo;
  dbsize: number;
  /** Per queue, BullMQ's job counts by state. */
  jobCounts: Record<string, Record<string, number>>;
  queueSideKeys: Awaited<ReturnType<typeof queueSideKeys>>;
  sampleCompletedJobs: SampleJob[];
  keyClasses: KeyClass[];
}

/** All of the above at once, with DBSIZE and each queue's job counts: what the server holds now. */
export async function keyspaceSummary(connection: Redis, queues: QueueSet, basePrefix: string): Promise<KeyspaceSummary> {
  return {
    memory: await memoryInfo(connection),
    dbsize: await connection.dbsize(),
    jobCounts: Object.fromEntries(
      await Promise.all(QUEUE_NAMES.map(async (queue) => [queue, await queues[queue].getJobCounts()] as const)),
    ),
    queueSideKeys: await queueSideKeys(connection, basePrefix),
    sampleCompletedJobs: await sampleCompletedJobs(connection, queues, basePrefix),
    keyClasses: await keyClasses(connection, basePrefix),
  };
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 ** 2).toFixed(2)} MiB`;
}
