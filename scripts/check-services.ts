// `npm test` and `npm run e2e` run this first: are PostgreSQL and Valkey there? A missing one is
// named in one plain paragraph (lib/service-check.ts) and the command exits 1 before vitest or
// Playwright starts, instead of a wall of ECONNREFUSED stack traces from every test file.
//
//   node --import tsx scripts/check-services.ts            PostgreSQL and Valkey (npm test)
//   node --import tsx scripts/check-services.ts --e2e      PostgreSQL, and a valkey-server or
//                                                         redis-server to start (npm run e2e runs
//                                                         its own Valkey)
import { execFileSync } from 'node:child_process';
import { config, loadDotEnv } from '../lib/config';
import { missingServices } from '../lib/service-check';

const e2e = process.argv.includes('--e2e');
const command = e2e ? 'npm run e2e' : 'npm test';
loadDotEnv();
const settings = config();
const missing = (await missingServices(settings)).filter((problem) => !(e2e && problem.startsWith('Valkey')));
if (e2e && !hasValkeyServer()) {
  missing.push(
    [
      'No valkey-server or redis-server is installed: the e2e suite starts a Valkey of its own, on its own port.',
      '  On Debian or Ubuntu: sudo apt-get install redis-server (or valkey-server from bookworm-backports)',
    ].join('\n'),
  );
}
if (missing.length > 0) {
  console.error(`${missing.join('\n\n')}\n\n${command} needs ${e2e ? 'them' : 'both'}; no test was run.`);
  process.exit(1);
}

function hasValkeyServer(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v valkey-server || command -v redis-server'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
