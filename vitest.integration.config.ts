// `npm run test:integration`: the test files that reach Valkey through lib/config.ts (VALKEY_URL, or
// VALKEY_CLUSTER_NODES for a cluster), so CI can run them again against a Valkey Cluster and against
// Redis 7 without running the whole suite three times. Found by what they call, not listed by hand,
// so a new test that uses the configured Valkey joins them by itself.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { defineConfig } from 'vitest/config';
import base from './vitest.config';

/** Left out, each for a reason; everything else that talks to the configured Valkey runs. */
const LEFT_OUT: Record<string, string> = {
  // 75 s of one provider outage; the breaker's Valkey state is covered by lib/circuit-breaker.test.ts.
  'tests/circuit-breaker-outage.test.ts': 'slow, and its Valkey use is covered elsewhere',
  // Starts its own six-node cluster whatever the suite is pointed at.
  'tests/valkey-cluster-failover.test.ts': 'brings its own cluster',
};

/** Calls that reach the Valkey lib/config.ts describes. */
const USES_CONFIGURED_VALKEY = /startTestStack\(|loadConfig\(\)\.valkey|config\.valkey\b/;

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' || entry.name.startsWith('.') ? [] : testFiles(file);
    return entry.name.endsWith('.test.ts') ? [file] : [];
  });
}

export const INTEGRATION_TESTS = ['app', 'lib', 'tests', 'workers', 'infra']
  .flatMap((dir) => testFiles(dir))
  .filter((file) => !(file in LEFT_OUT) && USES_CONFIGURED_VALKEY.test(readFileSync(file, 'utf8')))
  .sort();

export default defineConfig({ ...base, test: { ...base.test, include: INTEGRATION_TESTS } });
