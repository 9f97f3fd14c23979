// Starts one complete set of mock providers (HTTP and SMTP sharing one state) and hands back how
// to stop it. `npm run mocks` uses it through main.ts; tests call it directly on port 0 so each
// suite gets its own instance on free ports.
import type { EventEmitter } from 'node:events';
import type { AddressInfo, Server, Socket } from 'node:net';
import { exposureProblem } from './control-auth';
import { createHttpServer } from './http-server';
import { createMockState, type ProviderRequestObserver } from './mock-state';
import { createSmtpServer } from './smtp-server';

export interface MockProvidersOptions {
  /** 0 picks a free port; the chosen one is returned. */
  httpPort: number;
  smtpPort: number;
  /** Interface to bind; loopback unless the caller needs to be reachable from elsewhere. */
  host?: string;
  /**
   * Required by the control and inspect routes when set, and required to be set when `host` is
   * beyond loopback: the mocks refuse to start there without it (control-auth.ts).
   */
  token?: string;
  /** Told of every provider request as it is decided, for counting requests over time. */
  onRequest?: ProviderRequestObserver;
  /**
   * PEM key and certificate (MOCKS_TLS): HTTP becomes HTTPS, SMTP offers STARTTLS, and SMTPS
   * listens on `smtpsPort`, so clients meet TLS as they would at a real provider.
   */
  tls?: { key: string; cert: string; smtpsPort: number };
  /** MOCKS_SMTP_USER and MOCKS_SMTP_PASSWORD: SMTP then requires AUTH, and so TLS. */
  smtpAuth?: { user: string; password: string };
  /** MOCKS_API_KEY: the provider routes then require it. */
  apiKey?: string;
}

export interface MockProviders {
  httpPort: number;
  smtpPort: number;
  /** The addresses the two listening sockets report, e.g. 127.0.0.1. */
  httpAddress: string;
  smtpAddress: string;
  /** SMTPS's port, when `tls` was given. */
  smtpsPort?: number;
  /** Stops both servers, cutting every open connection, hung ones included. */
  close(): Promise<void>;
}

export async function startMockProviders(options: MockProvidersOptions): Promise<MockProviders> {
  const host = options.host ?? '127.0.0.1';
  const token = options.token || undefined;
  const refusal = exposureProblem(host, token);
  if (refusal) throw new Error(refusal);
  if (options.smtpAuth && !options.tls) {
    throw new Error('MOCKS_SMTP_USER needs MOCKS_TLS=on: SMTP credentials must not cross the network in clear.');
  }
  const lifetime = new AbortController();
  const state = createMockState(lifetime.signal, options.onRequest);

  const http = createHttpServer(state, { token, apiKey: options.apiKey || undefined, tls: options.tls });
  const smtp = createSmtpServer(state, { tls: options.tls, auth: options.smtpAuth });
  const smtps = options.tls ? createSmtpServer(state, { tls: options.tls, secure: true, auth: options.smtpAuth }) : undefined;
  const httpSockets = trackSockets(http);
  const smtpSockets = [smtp, ...(smtps ? [smtps] : [])].map((server) => trackSockets(server.server));

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      lifetime.abort();
      state.held.releaseAll();
      const closed = Promise.all([
        new Promise<void>((resolve) => http.close(() => resolve())),
        new Promise<void>((resolve) => smtp.close(() => resolve())),
        new Promise<void>((resolve) => (smtps ? smtps.close(() => resolve()) : resolve())),
      ]);
      // A mock owes its clients no goodbye: waiting out keep-alive or SMTP sessions would only
      // delay shutdown past the stack's deadline.
      httpSockets.destroyAll();
      for (const sockets of smtpSockets) sockets.destroyAll();
      await closed;
    })();
    return closing;
  };

  try {
    const httpAddress = await listen(http, http, () => http.listen(options.httpPort, host));
    const smtpAddress = await listen(smtp, smtp.server, () => smtp.listen(options.smtpPort, host));
    const smtpsAddress = smtps ? await listen(smtps, smtps.server, () => smtps.listen(options.tls?.smtpsPort, host)) : undefined;
    return {
      httpPort: httpAddress.port,
      smtpPort: smtpAddress.port,
      ...(smtpsAddress ? { smtpsPort: smtpsAddress.port } : {}),
      httpAddress: httpAddress.address,
      smtpAddress: smtpAddress.address,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Resolves with the bound address and port, or rejects with the listen error (EADDRINUSE and the like). */
function listen(errors: EventEmitter, server: Server, start: () => void): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    errors.once('error', reject);
    server.once('listening', () => {
      errors.off('error', reject);
      // After startup a client's broken connection is not worth dying for.
      errors.on('error', (error: Error) => console.error('[mocks] server error', error));
      const address = server.address();
      if (address === null || typeof address === 'string') reject(new Error('expected a TCP address'));
      else resolve(address);
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
