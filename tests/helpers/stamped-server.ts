// A real HTTP server on an ephemeral port with the client-address stamp installed, as the web
// process has it (instrumentation.ts): each request reaches `handle` as a web Request whose headers
// are the stamped Node headers, the way Next builds a route handler's Request from them.
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { installClientAddressStamp } from '@/lib/client-address';

export interface StampedServer {
  url: string;
  close(): Promise<void>;
}

export async function startStampedServer(hops: number, handle: (request: Request) => Promise<Response> | Response): Promise<StampedServer> {
  const uninstall = installClientAddressStamp(hops);
  const server = createServer((incoming, outgoing) => {
    void (async () => {
      try {
        const response = await handle(await webRequest(incoming));
        outgoing.writeHead(response.status, Object.fromEntries(response.headers));
        outgoing.end(Buffer.from(await response.arrayBuffer()));
      } catch (error) {
        outgoing.writeHead(500).end(String(error));
      }
    })();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      uninstall();
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

async function webRequest(incoming: IncomingMessage): Promise<Request> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(incoming.headers)) {
    for (const one of [value ?? []].flat()) headers.append(name, one);
  }
  const chunks: Buffer[] = [];
  for await (const chunk of incoming) chunks.push(chunk as Buffer);
  const hasBody = incoming.method !== 'GET' && incoming.method !== 'HEAD';
  return new Request(`http://app.test${incoming.url ?? '/'}`, { method: incoming.method, headers, body: hasBody ? Buffer.concat(chunks) : undefined });
}
