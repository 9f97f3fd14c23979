// The last step of `npm run build` (after copy-standalone-assets.ts): fails the build when a browser
// chunk carries the mock providers' code (client-bundle-leaks.ts says how that is told).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { leaks, mockMarkers } from './client-bundle-leaks';

const root = fileURLToPath(new URL('..', import.meta.url));
const markers = mockMarkers(root);
const found = leaks(path.join(root, '.next/static/chunks'), markers);
if (found.length > 0) {
  for (const leak of found) console.error(`check-client-bundle: ${leak.chunk} holds mock-provider code: ${leak.markers.join(' | ')}`);
  console.error('check-client-bundle: a client component imports a value from infra/mock-providers; import types only.');
  process.exit(1);
}
console.log(`check-client-bundle: no mock-provider code in the browser chunks (${markers.length} markers)`);
