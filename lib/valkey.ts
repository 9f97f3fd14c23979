// Connections to Valkey. Two kinds, because the two sides want opposite things from a dead server:
// the producer (the web app's signup path) must fail at once so a signup never waits on Valkey,
// while a worker must wait and reconnect forever, since blocking commands are its whole job.
//
// Either kind talks to one server (VALKEY_URL) or to a Valkey Cluster (VALKEY_CLUSTER_NODES, the
// seed nodes; ioredis discovers the rest and follows MOVED/ASK redirections and failovers). Nothing
// else changes in cluster mode because every key this project writes carries a hash tag: a queue's
// keys (`signup:{email}:…`, lib/queues.ts) and the keys kept beside them (the workspace clocks,
// lib/tenant-pacer.ts) share their queue's slot, and each circuit breaker and each admin session
// is one key. No command or script of ours touches keys of two queues at once.
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import type { ValkeyTarget } from '@/lib/config';
import type { Logger } from '@/lib/log';

export type { ValkeyTarget };

/** An open connection of either kind; BullMQ and our scripts accept both. */
export type Valkey = Redis | Cluster;

/** How long the signup path may wait for Valkey before it leaves the job to the outbox relay. */
const PRODUCER_COMMAND_TIMEOUT_MS = 500;

export function createProducerConnection(target: ValkeyTarget | string, log?: Logger): Valkey {
  const node: RedisOptions = {
    // Commands issued while disconnected are rejected instead of buffered: the outbox has them.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: PRODUCER_COMMAND_TIMEOUT_MS,
    commandTimeout: PRODUCER_COMMAND_TIMEOUT_MS,
    // No enableAutoPipelining: a batch formed before BullMQ has defined its script commands on a
    // fresh connection throws outside any promise and can take the process down. Concurrent
    // commands are written at once without waiting for replies anyway, so a signup's four adds
    // still cost about one round trip.
    // Keep trying in the background so the fast path comes back on its own after an outage.
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    lazyConnect: false,
  };
  const connection = connect(target, node, {
    enableOfflineQueue: false,
    clusterRetryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    // A signup must not sit out a failover: one quick retry after a redirection, then the outbox.
    retryDelayOnFailover: 50,
    retryDelayOnClusterDown: 50,
    maxRedirections: 4,
  });
  reportReachability(connection, log, 'valkey unreachable; new jobs wait in the outbox');
  return connection;
}

export function createWorkerConnection(target: ValkeyTarget | string, log?: Logger): Valkey {
  const node: RedisOptions = {
    // BullMQ requires this for blocking commands: a worker must keep waiting, not give up.
    maxRetriesPerRequest: null,
    retryStrategy: (attempt) => Math.min(attempt * 500, 5_000),
  };
  const connection = connect(target, node, {
    clusterRetryStrategy: (attempt) => Math.min(attempt * 500, 5_000),
    // A worker rides out a failover: a replica is promoted within a few node timeouts.
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 500,
  });
  reportReachability(connection, log, 'valkey unreachable; workers wait for it');
  return connection;
}

/** True for the errors a lost connection produces, which reportReachability already reports. */
export function isConnectionError(error: Error): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH'].includes(code ?? '');
}

function connect(target: ValkeyTarget | string, node: RedisOptions, cluster: ClusterOptions): Valkey {
  const { url, clusterNodes } = typeof target === 'string' ? { url: target, clusterNodes: undefined } : target;
  if (!clusterNodes || clusterNodes.length === 0) return new Redis(url, node);
  return new Cluster([...clusterNodes], { ...cluster, redisOptions: { ...node, ...sharedNodeOptions(url) } });
}

/** What every cluster node shares, from VALKEY_URL: credentials and TLS. */
function sharedNodeOptions(url: string): RedisOptions {
  const parsed = new URL(url);
  return {
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/**
 * Logs one line when Valkey goes away and one when it is back, not one per reconnect attempt. The
 * listener also keeps ioredis from printing every failed reconnect as an unhandled error.
 */
function reportReachability(connection: Valkey, log: Logger | undefined, message: string): void {
  let reachable = true;
  connection.on('error', (error: Error) => {
    if (!reachable) return;
    reachable = false;
    log?.warn(message, { error: error.message });
  });
  connection.on('ready', () => {
    if (reachable) return;
    reachable = true;
    log?.info('valkey reachable again');
  });
}

/**
 * Every key matching `pattern`, by SCAN (never KEYS), on each primary of a cluster since SCAN walks
 * one node. For tests, the benchmarks and the smoke run, which look at or clean up a prefix of
 * their own; not for request paths (it walks the whole keyspace).
 */
export async function keysMatching(connection: Valkey, pattern: string): Promise<string[]> {
  const nodes = connection instanceof Cluster ? connection.nodes('master') : [connection];
  const found = await Promise.all(
    nodes.map(async (node) => {
      const keys: string[] = [];
      for await (const batch of node.scanStream({ match: pattern, count: 1_000 })) keys.push(...(batch as string[]));
      return keys;
    }),
  );
  return [...new Set(found.flat())];
}

const UNLINK_BATCH = 500;

export async function unlinkMatching(connection: Valkey, pattern: string): Promise<void> {
  // In a cluster one command may only name keys of one slot: keys sharing a hash tag share a slot
  // (all of a queue's keys do), the rest go one by one. Batches in turn, so that deleting a large
  // queue is a few hundred commands, not a burst of thousands against a 500 ms timeout.
  const byTag = new Map<string, string[]>();
  for (const key of await keysMatching(connection, pattern)) {
    const tag = hashTag(key) ?? `untagged:${key}`;
    const keys = byTag.get(tag);
    if (keys) keys.push(key);
    else byTag.set(tag, [key]);
  }
  for (const keys of byTag.values()) {
    for (let i = 0; i < keys.length; i += UNLINK_BATCH) await connection.unlink(...keys.slice(i, i + UNLINK_BATCH));
  }
}

/** The part of `key` that decides its cluster slot, when it has one: Valkey's rule, exactly. */
export function hashTag(key: string): string | undefined {
  const open = key.indexOf('{');
  const close = open < 0 ? -1 : key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : undefined;
}
