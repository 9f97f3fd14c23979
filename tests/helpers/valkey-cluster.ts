// A private Valkey Cluster for tests that take a node away: each node its own valkey-server process
// on a free loopback port, joined by `valkey-cli --cluster create` as an operator would. With
// replicas, killing a primary's process makes its replica take over after the node timeout.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { ValkeyNode } from '@/lib/config';
import { waitFor } from '@/tests/helpers/test-stack';
import { freePort } from '@/tests/helpers/valkey-process';

export interface ValkeyCluster {
  nodes: ValkeyNode[];
  /** The primary that serves `key`'s slot now. */
  primaryFor(key: string): Promise<ValkeyNode>;
  /** SIGKILL, as a crashed machine: no goodbye to the other nodes. */
  kill(node: ValkeyNode): Promise<void>;
  /** Resolves once every slot is served again and `key`'s slot has a primary other than `former`. */
  failedOver(key: string, former: ValkeyNode): Promise<ValkeyNode>;
  stop(): Promise<void>;
}

function binary(name: 'server' | 'cli'): string {
  for (const candidate of [`valkey-${name}`, `redis-${name}`]) {
    if (spawnSync('sh', ['-c', `command -v ${candidate}`]).status === 0) return candidate;
  }
  throw new Error(`neither valkey-${name} nor redis-${name} is installed`);
}

/** One short-lived connection to one node, closed after `ask`. */
async function onNode<T>(node: ValkeyNode, ask: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis({ ...node, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await ask(client);
  } finally {
    client.disconnect();
  }
}

export async function startValkeyCluster({
  primaries = 3,
  replicasPerPrimary = 0,
  nodeTimeoutMs = 1_000,
}: { primaries?: number; replicasPerPrimary?: number; nodeTimeoutMs?: number } = {}): Promise<ValkeyCluster> {
  const dir = mkdtempSync(path.join(tmpdir(), 'valkey-cluster-'));
  const count = primaries * (1 + replicasPerPrimary);
  const nodes: ValkeyNode[] = [];
  for (let i = 0; i < count; i += 1) nodes.push({ host: '127.0.0.1', port: await freePort() });
  const processes = new Map<number, ChildProcess>();

  for (const { port } of nodes) {
    const child = spawn(
      binary('server'),
      [
        '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
        '--cluster-enabled', 'yes', '--cluster-config-file', path.join(dir, `nodes-${port}.conf`),
        '--cluster-node-timeout', String(nodeTimeoutMs),
        // A replica takes over however long it was cut off: on one machine there is no partition
        // to protect against, only the killed process.
        '--cluster-replica-validity-factor', '0',
        '--dir', dir,
      ],
      { stdio: 'ignore' },
    );
    processes.set(port, child);
  }
  const stop = async () => {
    await Promise.all([...processes.values()].map((child) => killProcess(child)));
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    for (const node of nodes) {
      await waitFor(() => onNode(node, async (client) => (await client.ping()) === 'PONG'), { what: `node ${node.port}` });
    }
    const create = spawnSync(
      binary('cli'),
      ['--cluster', 'create', ...nodes.map(({ host, port }) => `${host}:${port}`), '--cluster-replicas', String(replicasPerPrimary), '--cluster-yes'],
      { encoding: 'utf8', timeout: 30_000 },
    );
    if (create.status !== 0) throw new Error(`cluster create failed:\n${create.stdout}\n${create.stderr}`);
    await waitFor(() => allServing(nodes), { what: 'every node to see all slots served', timeoutMs: 30_000 });
    if (replicasPerPrimary > 0) await waitFor(() => replicasInSync(nodes), { what: 'every replica to sync', timeoutMs: 30_000 });
  } catch (error) {
    await stop();
    throw error;
  }

  const alive = () => nodes.filter(({ port }) => processes.get(port)?.exitCode === null && !processes.get(port)?.signalCode);
  const primaryFor = async (key: string): Promise<ValkeyNode> => {
    for (const node of alive()) {
      const found = await onNode(node, async (client) => {
        const slot = Number(await client.call('CLUSTER', 'KEYSLOT', key));
        const ranges = (await client.call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number, ...unknown[]]]>;
        const range = ranges.find(([first, last]) => slot >= first && slot <= last);
        return range ? { host: range[2][0], port: Number(range[2][1]) } : undefined;
      }).catch(() => undefined);
      if (found) return found;
    }
    throw new Error(`no live node knows the primary for ${key}`);
  };

  return {
    nodes,
    primaryFor,
    async kill(node) {
      const child = processes.get(node.port);
      if (child) await killProcess(child);
    },
    async failedOver(key, former) {
      return waitFor(
        async () => {
          if (!(await allServing(alive()))) return undefined;
          const primary = await primaryFor(key);
          return primary.port === former.port ? undefined : primary;
        },
        { what: `a replica to take over ${key}'s slot`, timeoutMs: 30_000, intervalMs: 100 },
      );
    },
    stop,
  };
}

async function allServing(nodes: ValkeyNode[]): Promise<boolean> {
  const states = await Promise.all(
    nodes.map((node) => onNode(node, async (client) => String(await client.call('CLUSTER', 'INFO'))).catch(() => '')),
  );
  return states.every((info) => info.includes('cluster_state:ok'));
}

async function replicasInSync(nodes: ValkeyNode[]): Promise<boolean> {
  const roles = await Promise.all(nodes.map((node) => onNode(node, (client) => client.info('replication'))));
  return roles.every((info) => !info.includes('role:slave') || info.includes('master_link_status:up'));
}

async function killProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}
