// A private Valkey server for tests that take Valkey away: stopped and started again on the same
// port, like a real outage. Uses valkey-server, or redis-server where Valkey is not installed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { waitFor } from '@/tests/helpers/test-stack';

export interface ValkeyProcess {
  url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

function serverBinary(): string {
  for (const binary of ['valkey-server', 'redis-server']) {
    if (spawnSync('sh', ['-c', `command -v ${binary}`]).status === 0) return binary;
  }
  throw new Error('neither valkey-server nor redis-server is installed');
}

export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

export async function startValkeyProcess(): Promise<ValkeyProcess> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const binary = serverBinary();
  let child: ChildProcess | undefined;

  const handle: ValkeyProcess = {
    url,
    async start() {
      if (child && child.exitCode === null && child.signalCode === null) return;
      child = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
        stdio: 'ignore',
      });
      await waitFor(
        async () => {
          const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
          probe.on('error', () => undefined);
          try {
            await probe.connect();
            return (await probe.ping()) === 'PONG';
          } finally {
            probe.disconnect();
          }
        },
        { what: `${binary} on ${port}` },
      );
    },
    async stop() {
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    },
  };
  await handle.start();
  return handle;
}
