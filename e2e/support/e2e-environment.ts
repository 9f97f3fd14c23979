// The e2e stack's settings: its own ports, database, queue prefix and Valkey server. It refuses to
// run against a database that is not on this machine, since the suite creates users and resets
// providers.
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../lib/config';

const base = loadConfig();
const database = new URL(base.databaseUrl);
if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(database.hostname)) {
  throw new Error(`e2e refuses to run against a non-local database (${database.hostname})`);
}
database.pathname = '/signup_e2e';

const port = 3200;
const mocksHttpPort = 4110;
const admin = { user: 'admin', password: 'e2e-admin-password' };

// Its own Valkey (started by e2e/support/run-stack.ts), because the Valkey-outage spec stops it: a shared
// server would take down whatever else uses it. The port is picked once, by the Playwright runner,
// which loads this file first; its test workers and the web server command inherit the variable.
process.env.E2E_VALKEY_PORT ??= freePort();
const valkeyPort = Number(process.env.E2E_VALKEY_PORT);

export const E2E = {
  baseUrl: `http://127.0.0.1:${port}`,
  mocksUrl: `http://127.0.0.1:${mocksHttpPort}`,
  databaseUrl: database.toString(),
  admin,
  /** Append-only, no snapshots: stopped and started again on the same directory, it keeps its queues. */
  valkey: { port: valkeyPort, dir: join(tmpdir(), `signup-e2e-valkey-${valkeyPort}`) },
  env: {
    DATABASE_URL: database.toString(),
    VALKEY_URL: `redis://127.0.0.1:${valkeyPort}`,
    QUEUE_PREFIX: 'e2e',
    PORT: String(port),
    APP_URL: `http://127.0.0.1:${port}`,
    MOCKS_HTTP_PORT: String(mocksHttpPort),
    MOCKS_SMTP_PORT: '2625',
    MOCKS_HOST: '127.0.0.1',
    // The mocks then answer their control and inspect routes only to it, as under compose: the
    // specs' own calls (support/mock-providers.ts) and the admin's fault panel must send it.
    MOCKS_TOKEN: 'e2e-mocks-control-token',
    ADMIN_USER: admin.user,
    ADMIN_PASSWORD: admin.password,
    // Named, so a developer's shell cannot leak in settings the specs depend on.
    WORKER_QUEUES: 'email,crm,avatar,analytics',
    CIRCUIT_BREAKERS: 'on',
    // slow-providers.spec.ts compares the queued signup with the synchronous baseline.
    SYNC_BASELINE: 'on',
    // The suite signs up many users from one address.
    SIGNUP_RATE_LIMIT_PER_MINUTE: '0',
    // A killed worker's job comes back within ~6 s instead of ~20 s (worker-crash.spec.ts). 5 s
    // still leaves a lock renewed every 2.5 s room for a busy two-core machine.
    WORKER_LOCK_DURATION_MS: '5000',
    WORKER_STALLED_INTERVAL_MS: '1000',
    // A developer's own `npm start` holds the default metrics port; the suite reads no metrics.
    WORKER_METRICS_PORT: '0',
    // The specs count each user's emails; the follow-up, which the demo sends after a minute,
    // would add one to users of the longer specs. Its scheduling is tested in tests/outbox.test.ts.
    FOLLOW_UP_DELAY_MS: '3600000',
    // A redrive's batch is 5 s of replays: at 2 a second, admin-redrive.spec.ts's 12 dead letters
    // take two batches, so its redrive is still running when the spec pauses it.
    REPLAY_PER_SECOND: '2',
  },
};

/** A TCP port free right now on 127.0.0.1, asked of the kernel (synchronously: this is module setup). */
function freePort(): string {
  const script =
    "const s=require('node:net').createServer();s.listen(0,'127.0.0.1',()=>{process.stdout.write(String(s.address().port));s.close()})";
  return execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }).trim();
}
