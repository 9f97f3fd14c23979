// Tokens out of traces: every path that carries one, wherever it sits in a string, is recorded as
// its route's template, and nothing else is touched.
import { describe, expect, it } from 'vitest';
import { newToken, redactTokens, tokenHash } from '@/lib/access-tokens';

describe('redactTokens', () => {
  const token = newToken();

  it.each([
    [`/welcome/${token}`, '/welcome/[token]'],
    [`/welcome/${token}/avatar`, '/welcome/[token]/avatar'],
    [`/api/welcome/${token}/verification-email`, '/api/welcome/[token]/verification-email'],
    [`https://app.example/verify/${token}?x=1`, 'https://app.example/verify/[token]?x=1'],
    [`GET /verify/${token}`, 'GET /verify/[token]'],
    [`/welcome/${token}?verified=1`, '/welcome/[token]?verified=1'],
  ])('records %s as %s', (path, template) => {
    expect(redactTokens(path)).toBe(template);
  });

  it('leaves route templates, the deleted page and other paths alone', () => {
    for (const path of ['/welcome/[token]', '/welcome/deleted', '/api/signups', '/admin/queues', '/signup']) {
      expect(redactTokens(path)).toBe(path);
    }
  });
});

describe('tokenHash', () => {
  it('is the SHA-256 of the token, and differs for different tokens', () => {
    const token = newToken();
    expect(tokenHash(token)).toHaveLength(32);
    expect(tokenHash(token).equals(tokenHash(token))).toBe(true);
    expect(tokenHash(token).equals(tokenHash(newToken()))).toBe(false);
  });
});
