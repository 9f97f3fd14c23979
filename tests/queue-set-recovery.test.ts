// A producer's queues recover from a connection that dropped during BullMQ's handshake. A TCP proxy
// in front of a private Valkey cuts the producer's first connection at BullMQ's version check (the
// second INFO on it; ioredis's ready check is the first), the way a Valkey that dies at that moment
// does. The producer connection reconnects on its own; the queues must then take jobs again.
import { once } from 'node:events';
import { createConnection, createServer, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeQueueSet, createQueueSet, QUEUE_NAMES } from '@/lib/queues';
import { createProducerConnection, type Valkey } from '@/lib/valkey';
import { waitFor } from '@/tests/helpers/test-stack';
import { startValkeyProcess, type ValkeyProcess } from '@/tests/helpers/valkey-process';

/** Forwards to `target`; on the first connection only, closes both sides at the second INFO. */
async function cuttingProxy(target: URL): Promise<{ url: string; cuts: () => number; close: () => Promise<void> }> {
  let connections = 0;
  let cuts = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const first = connections++ === 0;
    const upstream = createConnection(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    let infos = 0;
    client.on('data', (chunk: Buffer) => {
      infos += chunk.toString('latin1').toLowerCase().split('\r\ninfo\r\n').length - 1;
      if (first && infos >= 2) {
        cuts++;
        client.destroy();
        upstream.destroy();
        return;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    for (const [a, b] of [[client, upstream], [upstream, client]] as const) {
      a.on('error', () => b.destroy());
      a.on('close', () => b.destroy());
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `redis://127.0.0.1:${port}`,
    cuts: () => cuts,
    async close() {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

describe('a producer whose queue handshake was cut by a dropped connection', () => {
  let valkey: ValkeyProcess;
  let proxy: Awaited<ReturnType<typeof cuttingProxy>>;
  let producer: Valkey;

  beforeAll(async () => {
    valkey = await startValkeyProcess();
    proxy = await cuttingProxy(new URL(valkey.url));
  });
  afterAll(async () => {
    producer.disconnect();
    await proxy.close();
    await valkey.stop();
  });

  it('replaces the broken queues once Valkey is reachable again, and every queue takes jobs', async () => {
    producer = createProducerConnection(proxy.url);
    const queues = createQueueSet(producer, 'recovery');
    const first = queues.email;
    // The fault hit: BullMQ's version check was cut, and that Queue's handshake failed for good.
    await expect(first.waitUntilReady()).rejects.toThrow();
    expect(proxy.cuts()).toBe(1);
    await expect(first.getJobCounts()).rejects.toThrow();

    await waitFor(() => producer.status === 'ready', { what: 'the producer to reconnect' });
    for (const name of QUEUE_NAMES) {
      const job = await queues[name].add('probe', { n: 1 }, { jobId: `probe-${name}` });
      expect(job.id).toBe(`probe-${name}`);
      expect(await queues[name].getJobCounts('waiting')).toEqual({ waiting: 1 });
    }
    expect(queues.email).not.toBe(first);
    // A healthy Queue is kept: no new Queue (and no new handshake) per use.
    expect(queues.email).toBe(queues.email);
    await closeQueueSet(queues);
  });
});
