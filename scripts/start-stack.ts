// `npm start` / `npm run dev`: the whole local stack against the local PostgreSQL and Valkey.
// Migrates first, then runs the mock providers, the workers and the web app as child processes,
// each log line prefixed with its process's name, and supervises them:
//
// - The mocks or the workers exiting while the stack runs (a crash, the OOM killer, a SIGKILL in a
//   chaos test) are logged and restarted, after 1 s doubling to 10 s. Nothing is lost meanwhile:
//   a dead worker's jobs go back to the queue when their locks expire, and new signups wait in the
//   queues. A process that needs a 6th restart within a minute is failing at startup, not
//   crashing now and then, so the supervisor gives up and stops everything with exit code 1.
// - The web app exiting stops everything. It exits almost only at startup (port taken, no build,
//   no admin password), where a restart would fail the same way, and a stack whose form nobody can
//   reach serves no purpose; stopping shows the cause at once.
// - One Ctrl-C (or SIGTERM) stops all of them: each child gets SIGTERM and its own shutdown
//   deadline, whatever is still alive after that is killed, and nothing is restarted meanwhile.
//
// Before any of that it reads .env (never over a variable already set) and checks that PostgreSQL
// and Valkey answer; a missing one is named in one paragraph with the command that starts one, and
// the stack does not start (lib/service-check.ts). While it runs, a Valkey that stops answering is
// said so in plain words every few seconds, and again when it is back: signups are still taken,
// and their jobs wait in the outbox meanwhile.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { setPriority } from 'node:os';
import { createInterface } from 'node:readline';
import { config, loadConfig, loadDotEnv } from '../lib/config';
import { missingServices, watchValkey } from '../lib/service-check';
import { applyMigrations, createDatabaseIfMissing } from '../prisma/migrate';

const dev = process.argv.includes('--dev');
const dotEnv = loadDotEnv();
const settings = config();
if (dotEnv) console.log('[stack] read .env (variables already set keep their values)');
const missing = await missingServices(settings);
if (missing.length > 0) {
  console.error(`${missing.join('\n\n')}\n\nnpm start needs both; nothing was started.`);
  process.exit(1);
}
const node = process.execPath;
const tsx = ['--import', 'tsx'];
/** V8's heap caps, the same as the image's commands; the arithmetic is in docs/operations.md. */
const WEB_NODE_ARGS = ['--max-old-space-size=128'];
const WORKER_NODE_ARGS = ['--max-old-space-size=96'];
const next = 'node_modules/next/dist/bin/next';
/** Longer than the workers' own shutdown deadline, so they finish or hand back their jobs first. */
const STOP_DEADLINE_MS = settings.workerShutdownDeadlineMs + 5_000;
const RESTART = {
  firstDelayMs: 1_000,
  maxDelayMs: 10_000,
  /** Restarts allowed per process within `windowMs`; one more and the stack stops. */
  maxPerWindow: 5,
  windowMs: 60_000,
};

const env: NodeJS.ProcessEnv = {
  ...process.env,
  NODE_ENV: dev ? 'development' : 'production',
  // Where the standalone web server listens (it reads these, not flags).
  PORT: String(settings.port),
  HOSTNAME: '0.0.0.0',
};
// Dead-letter alerts go to the mock providers' `alerts` endpoint, where /__inspect/alerts shows them.
env.ALERT_WEBHOOK_URL ??= `${settings.mocks.url}/alerts`;
// The demo shows the delayed "getting started" email a minute after signup, not three days.
env.FOLLOW_UP_DELAY_MS ??= '60000';
// The local demo compares the queued signup with the synchronous baseline (README, "More to try").
env.SYNC_BASELINE ??= 'on';
if (!settings.admin.password) {
  env.ADMIN_PASSWORD = randomBytes(12).toString('base64url');
  console.log(`[stack] ADMIN_PASSWORD was not set; generated one for this run: ${env.ADMIN_PASSWORD}`);
}
// As the web will read it (in production, none is made up); kept secret, unlike the password.
if (!loadConfig(env).admin.sessionSecret) {
  env.SESSION_SECRET = randomBytes(32).toString('base64url');
  console.log('[stack] SESSION_SECRET was not set; generated one for this run, so admin sessions end when the stack stops');
}

await createDatabaseIfMissing(settings.databaseUrl);
const applied = await applyMigrations(settings.databaseUrl);
console.log(`[stack] database migrated (${applied.length} applied)`);

// Production runs the standalone server (the same one the container image runs) and dist/'s
// bundles: the last `npm run build`, which `npm start` runs first only when there is none.
const STANDALONE_SERVER = '.next/standalone/server.js';

/**
 * The niceness of the processes that can wait: the workers (and the avatar renders they fork) and the
 * mock providers, which stand for servers that in production run elsewhere. On one machine the
 * signup competes with them for CPU; at 10 the kernel gives the web about nine parts in ten of a
 * contended core, so a burst of signups is answered at once and the queues absorb it, which is the
 * point of moving the work out of the request. Idle cores are still theirs to use.
 */
const BACKGROUND_NICENESS = 10;

interface ChildSpec {
  name: string;
  args: string[];
  /** Lower priority than the web (BACKGROUND_NICENESS). */
  background: boolean;
  /** Restarted when it exits on its own; otherwise its exit stops the stack. */
  restart: boolean;
  colour: string;
}

// Production runs the bundles `npm run build` writes to dist/ (scripts/bundle.ts) with plain node,
// and the web with its heap capped (WEB_NODE_ARGS); `npm run dev` runs the sources through tsx.
const SPECS: ChildSpec[] = [
  { name: 'mocks', args: dev ? [...tsx, 'infra/mock-providers/main.ts'] : ['dist/mocks.js'], restart: true, background: true, colour: '\x1b[35m' },
  // --supervised: checked above already; a restart during an outage must wait it out, not exit.
  {
    name: 'workers',
    args: [...(dev ? [...tsx, 'workers/main.ts'] : [...WORKER_NODE_ARGS, 'dist/workers.js']), '--supervised'],
    restart: true,
    background: true,
    colour: '\x1b[36m',
  },
  {
    name: 'web',
    // The standalone server takes its address from PORT and HOSTNAME (set in env below).
    args: dev ? [next, 'dev', '--port', String(settings.port), '--hostname', '0.0.0.0'] : [...WEB_NODE_ARGS, STANDALONE_SERVER],
    restart: false,
    background: false,
    colour: '\x1b[33m',
  },
];

const children = new Map<string, ChildProcess>();
const pendingRestarts = new Map<string, NodeJS.Timeout>();
/** When each process was last restarted, within the current window. */
const restartTimes = new Map<string, number[]>();
let stopping = false;

function launch(spec: ChildSpec): void {
  const child = spawn(node, spec.args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  // Before it forks anything: its children (the avatar sandboxes) inherit the niceness.
  if (spec.background && child.pid !== undefined) setPriority(child.pid, BACKGROUND_NICENESS);
  const prefix = `${spec.colour}[${spec.name}]\x1b[0m `;
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => process.stdout.write(`${prefix}${line}\n`));
  }
  child.on('exit', (code, signal) => {
    children.delete(spec.name);
    if (stopping) {
      if (children.size === 0) process.exit(process.exitCode ?? 0);
      return;
    }
    const how = signal ?? `code ${code}`;
    if (spec.restart) {
      scheduleRestart(spec, how);
    } else {
      console.log(`[stack] ${spec.name} exited (${how}); stopping the rest`);
      void stop(1);
    }
  });
  children.set(spec.name, child);
  console.log(`[stack] ${spec.name} started (pid ${child.pid})`);
}

function scheduleRestart(spec: ChildSpec, how: string): void {
  const now = Date.now();
  const recent = (restartTimes.get(spec.name) ?? []).filter((at) => now - at < RESTART.windowMs);
  if (recent.length >= RESTART.maxPerWindow) {
    console.log(
      `[stack] ${spec.name} exited (${how}) after ${recent.length} restarts within ${RESTART.windowMs / 1_000} s; giving up and stopping the rest`,
    );
    void stop(1);
    return;
  }
  const delayMs = Math.min(RESTART.maxDelayMs, RESTART.firstDelayMs * 2 ** recent.length);
  restartTimes.set(spec.name, [...recent, now]);
  console.log(
    `[stack] ${spec.name} exited unexpectedly (${how}); restarting in ${delayMs} ms (restart ${recent.length + 1} of ${RESTART.maxPerWindow} allowed per minute)`,
  );
  pendingRestarts.set(
    spec.name,
    setTimeout(() => {
      pendingRestarts.delete(spec.name);
      launch(spec);
    }, delayMs),
  );
}

async function stop(exitCode: number) {
  if (stopping) return;
  stopping = true;
  process.exitCode = exitCode;
  for (const timer of pendingRestarts.values()) clearTimeout(timer);
  pendingRestarts.clear();
  for (const child of children.values()) child.kill('SIGTERM');
  setTimeout(() => {
    for (const [name, child] of children) {
      console.log(`[stack] ${name} did not stop within ${STOP_DEADLINE_MS} ms; killing it`);
      child.kill('SIGKILL');
    }
  }, STOP_DEADLINE_MS).unref();
  if (children.size === 0) process.exit(exitCode);
}

for (const spec of SPECS) launch(spec);
console.log(`[stack] signup form on http://127.0.0.1:${settings.port}/  (Ctrl-C stops everything)`);

/** How often a Valkey outage is said again while it lasts. */
const VALKEY_WATCH_EVERY_MS = 5_000;
watchValkey(settings.valkey, VALKEY_WATCH_EVERY_MS, (event) => {
  if (stopping) return;
  const seconds = Math.round(event.downForMs / 1_000);
  console.log(
    event.state === 'down'
      ? `[stack] Valkey is not answering (${event.reason}) for ${seconds} s: signups are still saved, and their jobs wait in the outbox until it is back.`
      : `[stack] Valkey is back after ${seconds} s: the jobs that waited in the outbox are being sent to the queues.`,
  );
});

process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
