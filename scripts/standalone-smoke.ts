// `npx tsx --conditions=react-server scripts/standalone-smoke.ts`, after `npm run build` (CI runs
// it; the condition lets it import the app's server-only modules): runs what the container image
// runs, the standalone web server and dist/'s bundles (migrate, mocks, workers), from copies
// outside the repo, and drives what depends on files the builds' traces must have copied:
// bull-board's page and static files, BullMQ on Valkey, the Prisma client on PostgreSQL, sharp and
// nodemailer in the synchronous baseline and in the workers (the avatar sandbox included), and the
// browser assets `npm run build` copies in. Inside the repo a file a trace missed would still be
// found in the repo's node_modules; from the copies it is not, and the check fails.
//
// Uses DATABASE_URL's server and VALKEY_URL (lib/config.ts defaults otherwise), each on a
// throwaway database and queue prefix that it removes afterwards, and free ports. Exits non-zero
// with the failing check and each process's last output.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { SESSION_COOKIE } from '../app/_admin/auth/admin-session';
import { AdminSessionStore, openSession } from '../app/_admin/auth/session-store';
import { childProcessEnv, config, formatClusterNodes, loadConfig, type ValkeyTarget } from '../lib/config';
import { withDeadline } from '../lib/deadline';
import { createWorkerConnection, unlinkMatching } from '../lib/valkey';

const root = fileURLToPath(new URL('..', import.meta.url));
const standalone = path.join(root, '.next/standalone');
const bundles = path.join(root, 'dist');
/** The four effects of one signup, each at its mock provider. */
const EFFECTS_DEADLINE_MS = 30_000;
/** A cold standalone server opens its pools on the first request; well under this on 2 cores. */
const START_DEADLINE_MS = 60_000;
const REQUEST_TIMEOUT_MS = 15_000;
const STOP_DEADLINE_MS = 10_000;

class SmokeFailure extends Error {
  override name = 'SmokeFailure';
}

interface Started {
  name: string;
  child: ChildProcess;
  output: string[];
}

const started: Started[] = [];
const cleanups: Array<() => Promise<unknown>> = [];

async function main(): Promise<void> {
  if (!existsSync(path.join(standalone, 'server.js')) || !existsSync(path.join(standalone, '.next/static'))) {
    throw new SmokeFailure('no standalone build with its static files; run `npm run build` first');
  }
  if (!existsSync(path.join(bundles, 'workers.js'))) throw new SmokeFailure('no bundles in dist/; run `npm run build` first');
  const copy = await copyOutsideRepo(standalone, 'signup-standalone-');
  // Laid out as the image lays it out: the bundles in dist/, and the breaker's Lua script in lib/,
  // where lib/circuit-breaker.ts reads it from the working directory.
  const app = await copyOutsideRepo(bundles, 'signup-app-', 'dist');
  await cp(path.join(root, 'lib/circuit-breaker.lua'), path.join(app, 'lib/circuit-breaker.lua'));

  const base = config();
  const suffix = randomBytes(4).toString('hex');
  const databaseUrl = withDatabase(base.databaseUrl, `signup_smoke_${suffix}`);
  cleanups.push(() => dropDatabase(databaseUrl));
  const queuePrefix = `smoke-${suffix}`;
  cleanups.push(() => deleteKeys(base.valkey, `${queuePrefix}:*`));

  const [webPort, mocksHttpPort, mocksSmtpPort] = [await freePort(), await freePort(), await freePort()];
  const adminPassword = randomBytes(12).toString('base64url');
  const sessionSecret = randomBytes(32).toString('base64url');
  // The web reads its session secret from a file, as from a mounted Docker or Kubernetes secret.
  const secrets = await mkdtemp(path.join(os.tmpdir(), 'signup-secrets-'));
  cleanups.push(() => rm(secrets, { recursive: true, force: true }));
  const sessionSecretFile = path.join(secrets, 'session-secret');
  await writeFile(sessionSecretFile, `${sessionSecret}\n`, { mode: 0o600 });
  const settings = loadConfig({
    NODE_ENV: 'production',
    DATABASE_URL: databaseUrl,
    VALKEY_URL: base.valkey.url,
    ...(base.valkey.clusterNodes ? { VALKEY_CLUSTER_NODES: formatClusterNodes(base.valkey.clusterNodes) } : {}),
    QUEUE_PREFIX: queuePrefix,
    PORT: String(webPort),
    MOCKS_HOST: '127.0.0.1',
    MOCKS_HTTP_PORT: String(mocksHttpPort),
    MOCKS_SMTP_PORT: String(mocksSmtpPort),
    // The synchronous baseline exercises sharp and nodemailer inside the web's own trace.
    SYNC_BASELINE: 'on',
  });
  const env = {
    ...childProcessEnv(settings),
    ADMIN_USER: settings.admin.user,
    ADMIN_PASSWORD: adminPassword,
    SESSION_SECRET_FILE: sessionSecretFile,
    // Next's standalone server binds to HOSTNAME; loopback is enough here.
    HOSTNAME: '127.0.0.1',
  };

  await runToEnd('migrate', ['dist/migrate.js'], app, env);
  pass('dist/migrate.js creates and migrates the database');
  start('mocks', process.execPath, ['dist/mocks.js'], app, env);
  const mocks = `http://127.0.0.1:${mocksHttpPort}`;
  await waitFor('mocks', `${mocks}/__health`);
  start('workers', process.execPath, ['dist/workers.js'], app, { ...env, WORKER_METRICS_PORT: '0' });
  // A production server with a short admin password, or without a session secret of 32
  // characters, or whose secret file cannot be read, refuses to start, saying why.
  // One at a time: they share the web's port.
  const { SESSION_SECRET_FILE: _file, ...withoutSecret } = env;
  await expectRefusal('a 15-character ADMIN_PASSWORD', copy, { ...env, ADMIN_PASSWORD: 'fifteen-chars-x' }, 'must be at least 16');
  await expectRefusal('no SESSION_SECRET', copy, withoutSecret, 'SESSION_SECRET is not set');
  await expectRefusal('a 31-character SESSION_SECRET', copy, { ...withoutSecret, SESSION_SECRET: 's'.repeat(31) }, 'must be at least 32');
  const missing = path.join(secrets, 'missing');
  await expectRefusal('an unreadable SESSION_SECRET_FILE', copy, { ...env, SESSION_SECRET_FILE: missing }, `SESSION_SECRET_FILE: cannot read ${missing}`);
  start('web', process.execPath, ['server.js'], copy, env);
  const web = `http://127.0.0.1:${webPort}`;
  await waitFor('web', `${web}/api/health`);
  pass('GET /api/health answers 200 (PostgreSQL and Valkey reachable)');

  const signup = await request(`${web}/api/signups`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Smoke Test', email: `smoke-${suffix}@example.com` }),
  });
  const created = await expectStatus(signup, 201, 'POST /api/signups');
  const statusUrl = (JSON.parse(created) as { statusUrl?: string }).statusUrl;
  if (!statusUrl?.startsWith('/welcome/')) throw new SmokeFailure(`POST /api/signups: no statusUrl in ${created}`);
  pass('POST /api/signups answers 201 (user, outbox and queue through the traced Prisma client and BullMQ)');
  const id = (JSON.parse(created) as { id: string }).id;
  for (const provider of ['crm', 'analytics', 'storage', 'smtp']) await waitForEffect(mocks, provider, id);
  pass("dist/workers.js applied the signup's four effects (BullMQ, nodemailer, and sharp in the avatar sandbox)");
  await expectStatus(await request(`${web}${statusUrl}`), 200, `GET ${statusUrl}`);
  pass('the status page renders');

  const sync = await request(`${web}/api/signups/sync`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Smoke Sync', email: `smoke-sync-${suffix}@example.com` }),
  });
  await expectStatus(sync, 201, 'POST /api/signups/sync');
  const stored = JSON.parse(await expectStatus(await request(`${mocks}/__inspect/storage`), 200, 'mocks /__inspect/storage'));
  // One avatar from the workers, one from the synchronous signup.
  if (!Array.isArray(stored) || stored.length !== 2) {
    throw new SmokeFailure(`the mocks hold ${JSON.stringify(stored)}, expected two avatars`);
  }
  pass('POST /api/signups/sync answers 201 (sharp rendered the avatar, nodemailer sent the email)');

  const basic = `Basic ${Buffer.from(`${settings.admin.user}:${adminPassword}`).toString('base64')}`;
  const health = await expectStatus(
    await request(`${web}/api/admin/queues`, { headers: { authorization: basic } }),
    200,
    'GET /api/admin/queues with Basic credentials',
  );
  if (!health.includes('"email"')) throw new SmokeFailure(`GET /api/admin/queues lists no email queue: ${health.slice(0, 200)}`);
  pass('GET /api/admin/queues answers 200 to Basic credentials (queue state read through BullMQ)');

  // Admin pages take the browser session only (proxy.ts); the cookie is the one the login form
  // sets, signed with the credentials and secret the server was given, and live in its Valkey.
  const valkey = createWorkerConnection(base.valkey);
  cleanups.push(async () => valkey.disconnect());
  const sessions = new AdminSessionStore(valkey, queuePrefix);
  const cookie = await openSession({ user: settings.admin.user, password: adminPassword, sessionSecret }, sessions);
  if (!cookie) throw new SmokeFailure('could not sign an admin session cookie');
  const session = { cookie: `${SESSION_COOKIE}=${cookie.value}` };
  const board = await expectStatus(await request(`${web}/admin/queues`, { headers: session }), 200, 'GET /admin/queues');
  const baseHref = /<base href="([^"]+)"/.exec(board)?.[1];
  const assets = [...board.matchAll(/(?:src|href)="(static\/[^"]+\.(?:js|css))"/g)].map(([, asset]) => asset ?? '');
  if (!baseHref || assets.length === 0) throw new SmokeFailure("GET /admin/queues: not bull-board's page (no base href or static assets)");
  for (const asset of assets) {
    const url = new URL(asset, new URL(baseHref, web));
    await expectStatus(await request(url, { headers: session }), 200, `GET ${url.pathname}`);
  }
  pass(`GET /admin/queues and its ${assets.length} static files answer 200 (bull-board's UI files traced)`);
  const queues = await expectStatus(await request(`${web}/admin/queues/api/queues`, { headers: session }), 200, 'bull-board API');
  if (!queues.includes('"email"')) throw new SmokeFailure(`bull-board's API lists no email queue: ${queues.slice(0, 200)}`);
  pass("bull-board's API reads the queues");

  const logout = await request(`${web}/admin/logout`, { method: 'POST', headers: { ...session, origin: web } });
  await expectStatus(logout, 303, 'POST /admin/logout');
  await expectStatus(await request(`${web}/admin/queues/api/queues`, { headers: session }), 401, 'the cookie replayed after logout');
  pass('POST /admin/logout ends the session in Valkey: the same cookie, replayed, is refused');

  const page = await expectStatus(await request(`${web}/signup`), 200, 'GET /signup');
  const chunk = /src="(\/_next\/static\/[^"]+\.js)"/.exec(page)?.[1];
  if (!chunk) throw new SmokeFailure('GET /signup: the page references no /_next/static script');
  await expectStatus(await request(`${web}${chunk}`), 200, `GET ${chunk}`);
  pass('GET /signup and its /_next/static script answer 200 (static files copied by npm run build)');
}

/** Starts the standalone server with `env`; fails unless it exits 1 saying `reason`. */
async function expectRefusal(what: string, cwd: string, env: NodeJS.ProcessEnv, reason: string): Promise<void> {
  start(`web with ${what}`, process.execPath, ['server.js'], cwd, env);
  const refused = started.at(-1) as Started;
  const [code] = (await once(refused.child, 'exit')) as [number | null];
  if (code !== 1 || !refused.output.join('').includes(reason)) {
    throw new SmokeFailure(`with ${what} the server exited ${code}: ${refused.output.join('').slice(-300)}`);
  }
  pass(`${what} is refused at start, with the reason`);
}

/** A copy of `source` in a fresh directory outside the repo (in its `under` folder), removed at the end. */
async function copyOutsideRepo(source: string, prefix: string, under = ''): Promise<string> {
  const copy = await mkdtemp(path.join(os.tmpdir(), prefix));
  cleanups.push(() => rm(copy, { recursive: true, force: true }));
  if (!path.relative(root, copy).startsWith('..')) throw new SmokeFailure(`${copy} is inside the repo`);
  await cp(source, path.join(copy, under), { recursive: true, verbatimSymlinks: true });
  console.log(`standalone-smoke: copied ${path.relative(root, source)} to ${path.join(copy, under)}`);
  return copy;
}

/** Runs a process that exits by itself; fails unless it exits 0. */
async function runToEnd(name: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<void> {
  start(name, process.execPath, args, cwd, env);
  const child = started.at(-1)?.child as ChildProcess;
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new SmokeFailure(`${name} exited with ${code}`);
}

/** Waits until `provider` at the mocks has recorded an effect of the signup `id`. */
async function waitForEffect(mocks: string, provider: string, id: string): Promise<void> {
  const deadline = Date.now() + EFFECTS_DEADLINE_MS;
  while (Date.now() < deadline) {
    const records = await request(`${mocks}/__inspect/${provider}`).then((response) => response.text(), () => '');
    if (records.includes(id)) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new SmokeFailure(`the workers applied no ${provider} effect for signup ${id} within ${EFFECTS_DEADLINE_MS} ms`);
}

function start(name: string, command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): void {
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  for (const stream of [child.stdout, child.stderr]) stream.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  started.push({ name, child, output });
}

async function waitFor(name: string, url: string): Promise<void> {
  const child = started.find((entry) => entry.name === name)?.child;
  const deadline = Date.now() + START_DEADLINE_MS;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new SmokeFailure(`${name} exited (${child.exitCode}) before answering ${url}`);
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
    if (response?.ok) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new SmokeFailure(`${name} did not answer ${url} with 2xx within ${START_DEADLINE_MS} ms`);
}

function request(url: string | URL, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
}

async function expectStatus(response: Response, status: number, what: string): Promise<string> {
  const body = await response.text();
  if (response.status !== status) {
    throw new SmokeFailure(`${what}: expected ${status}, got ${response.status}: ${body.slice(0, 300)}`);
  }
  return body;
}

function pass(check: string): void {
  console.log(`standalone-smoke: ok - ${check}`);
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function dropDatabase(databaseUrl: string): Promise<void> {
  const name = new URL(databaseUrl).pathname.slice(1);
  const client = new pg.Client({ connectionString: withDatabase(databaseUrl, 'postgres') });
  await client.connect();
  try {
    // FORCE: the server may not have closed its pool yet if it was killed.
    await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

async function deleteKeys(target: ValkeyTarget, pattern: string): Promise<void> {
  const valkey = createWorkerConnection(target);
  try {
    await withDeadline(unlinkMatching(valkey, pattern), 10_000, () => new Error(`could not delete ${pattern} within 10 s`));
  } finally {
    valkey.disconnect();
  }
}

async function stopAll(): Promise<void> {
  await Promise.all(
    started.map(async ({ child }) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_DEADLINE_MS);
      await exited;
      clearTimeout(timer);
    }),
  );
}

let failed = false;
try {
  await main();
  console.log('standalone-smoke: the standalone build and the bundles work from copies outside the repo');
} catch (error) {
  failed = true;
  console.error(`standalone-smoke: FAILED: ${error instanceof Error ? error.message : String(error)}`);
  if (!(error instanceof SmokeFailure) && error instanceof Error && error.stack) console.error(error.stack);
  for (const { name, output } of started) {
    console.error(`--- ${name} output (last 60 lines) ---\n${output.join('').split('\n').slice(-60).join('\n')}`);
  }
} finally {
  await stopAll();
  for (const cleanup of cleanups.reverse()) {
    await cleanup().catch((error: unknown) => {
      console.error(`standalone-smoke: cleanup failed: ${error instanceof Error ? error.message : String(error)}`);
    });
  }
}
process.exit(failed ? 1 : 0);
