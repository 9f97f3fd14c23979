// The tests' own databases: never the development one, one per vitest worker.
import { describe, expect, it } from 'vitest';
import { testDatabaseUrl, workerDatabaseUrl } from '@/tests/helpers/test-database-url';

const env = { DATABASE_URL: 'postgresql://postgres@db.test:5432/signup' };

describe('testDatabaseUrl', () => {
  it('is signup_test on the server DATABASE_URL names, or the database TEST_DATABASE names', () => {
    expect(testDatabaseUrl(env)).toBe('postgresql://postgres@db.test:5432/signup_test');
    expect(testDatabaseUrl({ ...env, TEST_DATABASE: 'signup_test_redis' })).toBe(
      'postgresql://postgres@db.test:5432/signup_test_redis',
    );
  });

  it('refuses a TEST_DATABASE that is not a plain lower-case name', () => {
    for (const name of ['Signup', 'signup-test', 'signup_test; DROP DATABASE signup', '1signup']) {
      expect(() => testDatabaseUrl({ ...env, TEST_DATABASE: name }), name).toThrow(/TEST_DATABASE must be/);
    }
  });

  it("refuses DATABASE_URL's own database, whose rows the tests would delete", () => {
    expect(() => testDatabaseUrl({ ...env, TEST_DATABASE: 'signup' })).toThrow(/must not be DATABASE_URL's own/);
  });
});

describe('workerDatabaseUrl', () => {
  it("appends the vitest worker's pool id", () => {
    expect(workerDatabaseUrl('postgresql://postgres@db.test:5432/signup_test', '2')).toBe(
      'postgresql://postgres@db.test:5432/signup_test_2',
    );
  });

  it('needs a pool id', () => {
    expect(() => workerDatabaseUrl('postgresql://postgres@db.test:5432/signup_test', undefined)).toThrow(/VITEST_POOL_ID/);
  });
});
