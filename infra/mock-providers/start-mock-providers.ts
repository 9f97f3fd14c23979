// Starts one complete set of mock providers (HTTP and SMTP sharing one state) and hands back how
// to stop it. `npm run mocks` uses it through main.ts; tests call it directly on port 0 so each
// suite gets its own instance on free ports.
import type { EventEmitter } from 'node:events';
import type { Server, Socket } from 'node:net';
import { createHttpServer } from './http-server';
import { createMockState, type ProviderRequestObserver } from './mock-state';
import { createSmtpServer } from './smtp-server';

export interface MockProvidersOptions {
  /** 0 picks a free port; the chosen one is returned. */
  httpPort: number;
  smtpPort: number;
  /** Interface to bind; loopback unless the caller needs to be reachable from elsewhere. */
  host?: string;
  /** Told of every provider request as it is decided, for counting requests over time. */
  onRequest?: ProviderRequestObserver;
}

export interface MockProviders {
  httpPort: number;
  smtpPort: number;
  /** Stops both servers, cutting every open connection, hung ones included. */
  close(): Promise<void>;
}

export async function startMockProviders(options: MockProvidersOptions): Promise<MockProviders> {
  const host = options.host ?? '127.0.0.1';
  const lifetime = new AbortController();
  const state = createMockState(lifetime.signal, options.onRequest);

  const http = createHttpServer(state);
  const smtp = createSmtpServer(state);
  const httpSockets = trackSockets(http);
  const smtpSockets = trackSockets(smtp.server);

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      lifetime.abort();
      state.held.releaseAll();
      const closed = Promise.all([
        new Promise<void>((resolve) => http.close(() => resolve())),
        new Promise<void>((resolve) => smtp.close(() => resolve())),
      ]);
      // A mock owes its clients no goodbye: waiting out keep-alive or SMTP sessions would only
      // delay shutdown past the stack's deadline.
      httpSockets.destroyAll();
      smtpSockets.destroyAll();
      await closed;
    })();
    return closing;
  };

  try {
    const httpPort = await listen(http, http, () => http.listen(options.httpPort, host));
    const smtpPort = await listen(smtp, smtp.server, () => smtp.listen(options.smtpPort, host));
    return { httpPort, smtpPort, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Resolves with the bound port, or rejects with the listen error (EADDRINUSE and the like). */
function listen(errors: EventEmitter, server: Server, start: () => void): Promise<number> {
  return new Promise((resolve, reject) => {
    errors.once('error', reject);
    server.once('listening', () => {
      errors.off('error', reject);
      // After startup a client's broken connection is not worth dying for.
      errors.on('error', (error: Error) => console.error('[mocks] server error', error));
      const address = server.address();
      if (address === null || typeof address === 'string') reject(new Error('expected a TCP address'));
      else resolve(address.port);
    });
    start();
  });
}

function trackSockets(server: Server): { destroyAll(): void } {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return {
    destroyAll() {
      for (const socket of sockets) socket.destroy();
    },
  };
}
