// The soak's own Valkey: a child process with production's append-only file and `appendfsync
// everysec`, so a SIGKILL loses up to the last second of writes, as a real crash does, and a restart
// on the same directory and port loads what reached the disk (docs/failure-model.md#chaos-soak).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';

/** Loading a few MB of append-only file takes well under a second; this is a broken server. */
const READY_DEADLINE_MS = 30_000;

export interface AofValkey {
  url: string;
  /** SIGKILL: no shutdown, no final fsync. */
  kill(): Promise<void>;
  /** On the same port and directory; resolves once it answers PING. */
  start(): Promise<void>;
  running(): boolean;
}

export async function startAofValkey(port: number, directory: string): Promise<AofValkey> {
  // Absolute: the server changes into --dir before it opens its log file.
  const dir = resolve(directory);
  const binary = ['valkey-server', 'redis-server'].find((name) => spawnSync('sh', ['-c', `command -v ${name}`]).status === 0);
  if (!binary) throw new Error('the chaos soak runs its own Valkey: install valkey-server (or redis-server)');
  mkdirSync(dir, { recursive: true });
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const running = () => child !== undefined && child.exitCode === null && child.signalCode === null;

  const handle: AofValkey = {
    url,
    running,
    async kill() {
      if (!child || !running()) return;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    },
    async start() {
      if (running()) return;
      child = spawn(
        binary,
        [
          '--bind', '127.0.0.1', '--port', String(port), '--dir', dir,
          '--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec',
          '--maxmemory-policy', 'noeviction', '--logfile', join(dir, 'valkey.log'),
        ],
        { stdio: 'ignore' },
      );
      await untilAnswers(url, () => running(), binary);
    },
  };
  await handle.start();
  return handle;
}

async function untilAnswers(url: string, alive: () => boolean, binary: string): Promise<void> {
  const deadline = Date.now() + READY_DEADLINE_MS;
  for (;;) {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      if ((await probe.ping()) === 'PONG') return;
    } catch {
      // refused, or LOADING the append-only file: asked again below
    } finally {
      probe.disconnect();
    }
    if (!alive()) throw new Error(`${binary} exited at start (${url})`);
    if (Date.now() > deadline) throw new Error(`${binary} did not answer within ${READY_DEADLINE_MS / 1_000} s (${url})`);
    await sleep(100);
  }
}
