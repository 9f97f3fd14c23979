// The second half of `npm run build` (its `postbuild` script). Next's standalone output holds the
// server and the node_modules files it traced, but leaves the browser assets (.next/static, and
// public/ when there is one) behind for a CDN or the deployer to serve. Copied in beside
// server.js, the standalone server serves them itself, so .next/standalone is the whole web app:
// what `npm run web` runs, what infra/Dockerfile copies into the image, and what
// scripts/standalone-smoke.ts starts from a copy outside the repo.
import { existsSync } from 'node:fs';
import { cp, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const standalone = path.join(root, '.next/standalone');

const ASSETS: ReadonlyArray<[from: string, to: string]> = [
  ['.next/static', '.next/static'],
  ['public', 'public'],
];

if (!existsSync(path.join(standalone, 'server.js'))) {
  console.error(
    'copy-standalone-assets: .next/standalone/server.js is missing. Run `npm run build`, and check that ' +
      "next.config.ts still sets output: 'standalone'.",
  );
  process.exit(1);
}

for (const [from, to] of ASSETS) {
  const source = path.join(root, from);
  if (!existsSync(source)) continue;
  const target = path.join(standalone, to);
  // Whole directories replaced, so assets of an earlier build do not linger in the copy.
  await rm(target, { recursive: true, force: true });
  await cp(source, target, { recursive: true });
  console.log(`copy-standalone-assets: ${from} -> .next/standalone/${to}`);
}
