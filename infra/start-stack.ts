// `npm start` / `npm run dev`: the whole local stack against the local PostgreSQL and Valkey.
// Migrates first, then runs the mock providers, the workers and the web app as child processes,
// each log line prefixed with its process's name. One Ctrl-C (or SIGTERM) stops all of them: each
// child gets SIGTERM and its own shutdown deadline, and whatever is still alive after that is killed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { config } from '../lib/config';
import { applyMigrations, createDatabaseIfMissing } from '../prisma/migrate';

const dev = process.argv.includes('--dev');
const settings = config();
const node = process.execPath;
const tsx = ['--import', 'tsx'];
const next = 'node_modules/next/dist/bin/next';
/** Longer than the workers' own shutdown deadline, so they finish or hand back their jobs first. */
const STOP_DEADLINE_MS = settings.workerShutdownDeadlineMs + 5_000;

const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: dev ? 'development' : 'production' };
// Dead-letter alerts go to the mock providers' `alerts` endpoint, where /__inspect/alerts shows them.
env.ALERT_WEBHOOK_URL ??= `${settings.providers.httpBaseUrl}/alerts`;
if (!settings.admin.password) {
  env.ADMIN_PASSWORD = randomBytes(12).toString('base64url');
  console.log(`[stack] ADMIN_PASSWORD was not set; generated one for this run: ${env.ADMIN_PASSWORD}`);
}

await createDatabaseIfMissing(settings.databaseUrl);
const applied = await applyMigrations(settings.databaseUrl);
console.log(`[stack] database migrated (${applied.length} applied)`);

if (!dev && !existsSync('.next/BUILD_ID')) {
  console.log('[stack] no production build yet; running `npm run build` first');
  const build = spawnSync(node, [next, 'build'], { stdio: 'inherit', env });
  if (build.status !== 0) process.exit(build.status ?? 1);
}

const processes: Array<[name: string, args: string[]]> = [
  ['mocks', [...tsx, 'infra/mock-providers/main.ts']],
  ['workers', [...tsx, 'workers/main.ts']],
  ['web', [next, dev ? 'dev' : 'start', '--port', String(settings.port), '--hostname', '0.0.0.0']],
];

const COLOURS = ['\x1b[35m', '\x1b[36m', '\x1b[33m'];
const children = new Map<string, ChildProcess>();
let stopping = false;

for (const [index, [name, args]] of processes.entries()) {
  const child = spawn(node, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const prefix = `${COLOURS[index % COLOURS.length]}[${name}]\x1b[0m `;
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => process.stdout.write(`${prefix}${line}\n`));
  }
  child.on('exit', (code, signal) => {
    children.delete(name);
    if (!stopping) {
      console.log(`[stack] ${name} exited (${signal ?? code}); stopping the rest`);
      void stop(1);
    } else if (children.size === 0) {
      process.exit(process.exitCode ?? 0);
    }
  });
  children.set(name, child);
}
console.log(`[stack] signup form on http://127.0.0.1:${settings.port}/  (Ctrl-C stops everything)`);

async function stop(exitCode: number) {
  if (stopping) return;
  stopping = true;
  process.exitCode = exitCode;
  for (const child of children.values()) child.kill('SIGTERM');
  setTimeout(() => {
    for (const [name, child] of children) {
      console.log(`[stack] ${name} did not stop within ${STOP_DEADLINE_MS} ms; killing it`);
      child.kill('SIGKILL');
    }
  }, STOP_DEADLINE_MS).unref();
  if (children.size === 0) process.exit(exitCode);
}

process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
