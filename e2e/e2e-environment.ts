// The e2e stack's settings: its own ports, database and queue prefix. It refuses to run against a
// database that is not on this machine, since the suite creates users and resets providers.
import { loadConfig } from '../lib/config';

const base = loadConfig();
const database = new URL(base.databaseUrl);
if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(database.hostname)) {
  throw new Error(`e2e refuses to run against a non-local database (${database.hostname})`);
}
database.pathname = '/signup_e2e';

const port = 3200;
const mocksHttpPort = 4110;

export const E2E = {
  baseUrl: `http://127.0.0.1:${port}`,
  mocksUrl: `http://127.0.0.1:${mocksHttpPort}`,
  databaseUrl: database.toString(),
  env: {
    DATABASE_URL: database.toString(),
    VALKEY_URL: base.valkeyUrl,
    QUEUE_PREFIX: 'e2e',
    PORT: String(port),
    APP_URL: `http://127.0.0.1:${port}`,
    MOCKS_HTTP_PORT: String(mocksHttpPort),
    MOCKS_SMTP_PORT: '2625',
    MOCKS_HOST: '127.0.0.1',
    ADMIN_PASSWORD: 'e2e-admin-password',
    // The suite signs up many users from one address.
    SIGNUP_RATE_LIMIT_PER_MINUTE: '0',
  },
};
