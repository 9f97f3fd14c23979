// The e2e stack's processes, found through /proc (Linux): a worker process is a `dist/workers.js`
// whose environment names this run's own Valkey, so a developer's stack or another run's never
// matches.
import { readdirSync, readFileSync } from 'node:fs';
import { E2E } from './e2e-environment';

export function workerPids(): number[] {
  const marker = `VALKEY_URL=${E2E.env.VALKEY_URL}`;
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      const cmdline = readProc(pid, 'cmdline').split('\0');
      return cmdline.includes('dist/workers.js') && readProc(pid, 'environ').split('\0').includes(marker);
    })
    .map(Number);
}

/** '' for a process that exited meanwhile or is not ours to read. */
function readProc(pid: string, file: string): string {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return '';
  }
}
