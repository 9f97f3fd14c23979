// The e2e suite's web server command (playwright.config.ts): starts the stack's own Valkey on a
// fresh directory, then `npm start` against it. On SIGTERM or SIGINT, or when the stack exits on
// its own, the stack stops first, since its workers need Valkey to hand back their jobs, then
// Valkey, then its directory goes.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { E2E } from './e2e-environment';
import { isValkeyRunning, startValkey, stopValkey } from './valkey-server';

rmSync(E2E.valkey.dir, { recursive: true, force: true });
await startValkey(E2E.valkey);
console.log(`[e2e] Valkey on port ${E2E.valkey.port}, data in ${E2E.valkey.dir}`);

const stack = spawn('npm', ['start'], { stdio: 'inherit' });
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => stack.kill(signal));

stack.on('exit', async (code, signal) => {
  try {
    // The Valkey-outage spec may have left it stopped.
    if (await isValkeyRunning(E2E.valkey)) await stopValkey(E2E.valkey);
  } finally {
    rmSync(E2E.valkey.dir, { recursive: true, force: true });
    process.exit(code ?? (signal ? 1 : 0));
  }
});
