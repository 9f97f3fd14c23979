// `docker compose up`'s first step (the `secrets` service): the stack's secrets, made once, so a
// fresh clone starts with nothing typed. Each is a file in the `signup-secrets` volume, which every
// service reads through a `*_FILE` variable (lib/config.ts), as the official PostgreSQL image reads
// POSTGRES_PASSWORD_FILE; Prometheus and Grafana read the same files.
//
// For each secret, in order:
//   set in .env (so in this process's environment)   written to its file, so every reader agrees;
//   already in the volume                           kept, so sessions and logins survive restarts;
//   neither                                         generated, and for the admin password the login
//                                                   is printed, this once.
// The files are 0444: Prometheus runs as `nobody` and Grafana as its own user, and the volume is
// mounted only in this stack's containers. A value from .env that the web would refuse (a short
// admin password or session secret) is refused here first, with the same words.
//
//   node dist/init-secrets.js /run/signup-secrets
import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { adminPasswordProblem, sessionSecretProblem } from '../lib/config';

export interface SecretSpec {
  /** The variable that overrides it, and whose `_FILE` points at it. */
  name: 'ADMIN_PASSWORD' | 'SESSION_SECRET' | 'METRICS_TOKEN' | 'MOCKS_TOKEN';
  file: string;
  /** Random bytes in a generated one; base64url makes 4 characters of every 3 bytes. */
  bytes: number;
}

/** Every length above each secret's minimum (16 for the password and tokens, 32 for the session key). */
export const SECRETS: readonly SecretSpec[] = [
  { name: 'ADMIN_PASSWORD', file: 'admin_password', bytes: 18 },
  { name: 'SESSION_SECRET', file: 'session_secret', bytes: 32 },
  { name: 'METRICS_TOKEN', file: 'metrics_token', bytes: 24 },
  { name: 'MOCKS_TOKEN', file: 'mocks_token', bytes: 24 },
];

export type SecretSource = 'env' | 'kept' | 'generated';

export interface InitResult {
  sources: Record<SecretSpec['name'], SecretSource>;
  /** What to print: the admin login when it was generated now, and where each secret came from. */
  lines: string[];
}

export class SecretsError extends Error {
  override name = 'SecretsError';
}

export async function initSecrets(directory: string, env: Record<string, string | undefined>): Promise<InitResult> {
  const given = (name: SecretSpec['name']) => (env[name] ? env[name] : undefined);
  const problem =
    (given('ADMIN_PASSWORD') ? adminPasswordProblem(given('ADMIN_PASSWORD')) : undefined) ??
    (given('SESSION_SECRET') ? sessionSecretProblem(given('SESSION_SECRET'), given('ADMIN_PASSWORD')) : undefined);
  if (problem) throw new SecretsError(`the value in .env cannot be used: ${problem}`);

  const sources = {} as InitResult['sources'];
  const values = {} as Record<SecretSpec['name'], string>;
  for (const secret of SECRETS) {
    const target = path.join(directory, secret.file);
    const fromEnv = given(secret.name);
    const existing = fromEnv ? undefined : await readExisting(target);
    const value = fromEnv ?? existing ?? randomBytes(secret.bytes).toString('base64url');
    sources[secret.name] = fromEnv ? 'env' : existing ? 'kept' : 'generated';
    values[secret.name] = value;
    if (sources[secret.name] !== 'kept') {
      // A file from an earlier run is read-only to its owner too: replaced, not written into.
      await rm(target, { force: true });
      await writeFile(target, `${value}\n`, { mode: 0o444 });
    }
  }

  const user = env.ADMIN_USER || 'admin';
  const lines =
    sources.ADMIN_PASSWORD === 'generated'
      ? [
          'Admin login for http://localhost:3000/admin (shown this once):',
          `  user:     ${user}`,
          `  password: ${values.ADMIN_PASSWORD}`,
          `To see it again: docker compose exec web cat ${path.join(directory, 'admin_password')}`,
        ]
      : [];
  lines.push(`secrets: ${SECRETS.map((secret) => `${secret.name} ${describe(sources[secret.name])}`).join(', ')}`);
  return { sources, lines };
}

async function readExisting(file: string): Promise<string | undefined> {
  try {
    const text = (await readFile(file, 'utf8')).replace(/(\r?\n)+$/, '');
    return text || undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function describe(source: SecretSource): string {
  return { env: 'from .env', kept: 'kept', generated: 'generated' }[source];
}

// Run as a script (the bundle, or tsx), not when a test imports it.
const entry = process.argv[1] ? path.basename(process.argv[1]) : '';
if (entry === 'init-secrets.js' || entry === 'init-secrets.ts') {
  const directory = process.argv[2];
  if (!directory) {
    console.error('usage: init-secrets <directory>');
    process.exit(2);
  }
  try {
    // lib/config.ts is the only module that reads the environment for the app; this script's whole
    // input is the four overrides, handed over as they are.
    // eslint-disable-next-line no-restricted-properties
    const { lines } = await initSecrets(directory, process.env);
    for (const line of lines) console.log(line);
  } catch (error) {
    console.error(`secrets: ${error instanceof SecretsError ? error.message : String(error)}`);
    process.exit(1);
  }
}
