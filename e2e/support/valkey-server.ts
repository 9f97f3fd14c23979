// The e2e stack's own Valkey server: started by e2e/support/run-stack.ts before the stack, stopped and
// started again by valkey-outage.spec.ts, stopped by run-stack.ts after the stack. It runs
// daemonized, so whichever process starts it, it outlives that process until stopped by port.
// Append-only and no snapshots (production's flags): a stop and start on the same
// directory brings the queues back as they were.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

export interface ValkeyServer {
  port: number;
  dir: string;
}

/** Loading a small append-only file takes milliseconds; a server still down after this is broken. */
const READY_DEADLINE_MS = 15_000;
const POLL_MS = 100;

export async function startValkey(server: ValkeyServer): Promise<void> {
  // A daemonized server that cannot bind fails after the fork, unseen; and a PING would then be
  // answered by whatever holds the port.
  if (await isValkeyRunning(server)) throw new Error(`port ${server.port} is already taken; cannot start Valkey there`);
  mkdirSync(server.dir, { recursive: true });
  execFileSync(serverBinary(), [
    '--bind', '127.0.0.1',
    '--port', String(server.port),
    '--save', '',
    '--appendonly', 'yes',
    '--maxmemory-policy', 'noeviction',
    '--dir', server.dir,
    '--daemonize', 'yes',
    '--pidfile', pidFile(server),
    '--logfile', join(server.dir, 'valkey.log'),
  ]);
  await until(async () => (await ping(server.port)) === 'ready', `Valkey on port ${server.port} to answer PING`);
}

/** Stops it as a SIGTERM would (it writes out its append-only file), and waits for the port to close. */
export async function stopValkey(server: ValkeyServer): Promise<void> {
  const pid = Number(readFileSync(pidFile(server), 'utf8').trim());
  process.kill(pid, 'SIGTERM');
  await until(async () => (await ping(server.port)) === 'refused', `Valkey on port ${server.port} to stop`);
}

export async function isValkeyRunning(server: ValkeyServer): Promise<boolean> {
  return (await ping(server.port)) !== 'refused';
}

function pidFile(server: ValkeyServer): string {
  return join(server.dir, 'valkey.pid');
}

/** Valkey's server, or Redis's (whose options these are too) where Valkey is not installed. */
function serverBinary(): string {
  try {
    return execFileSync('sh', ['-c', 'command -v valkey-server || command -v redis-server'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('the e2e stack starts its own Valkey: install valkey-server (Valkey 8) or redis-server (Redis ≥ 7)');
  }
}

/**
 * One inline PING: `ready` on +PONG, `busy` on anything else (LOADING, or a server that accepts and
 * then closes the connection while it shuts down), `refused` when nothing listens.
 */
function ping(port: number): Promise<'ready' | 'busy' | 'refused'> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.setTimeout(1_000, () => socket.destroy(new Error('timeout')));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      resolve(data.toString().startsWith('+PONG') ? 'ready' : 'busy');
      socket.end();
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED' ? 'refused' : 'busy'));
    // Closed with no answer and no error: without this the promise never settled, and a stop
    // that caught Valkey mid-shutdown waited forever (CI's valkey-outage spec timed out so).
    socket.once('close', () => resolve('busy'));
  });
}

async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + READY_DEADLINE_MS;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${READY_DEADLINE_MS} ms waiting for ${what}`);
    await delay(POLL_MS);
  }
}
