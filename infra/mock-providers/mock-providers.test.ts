// The mock providers over real sockets: fetch for HTTP, nodemailer for SMTP, one instance per
// file on free ports. The workers' retry and idempotency tests trust these behaviours, so each one
// is pinned here by what a client actually sees.
import { createHash } from 'node:crypto';
import { setTimeout as pause } from 'node:timers/promises';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FaultRequest } from './fault-modes';
import type { ProviderRequestEvent } from './mock-state';
import type { InspectEntry } from './provider-records';
import type { ProviderName } from '@/lib/providers';
import { startMockProviders, type MockProviders } from './start-mock-providers';

let mocks: MockProviders;
let base: string;

beforeAll(async () => {
  mocks = await startMockProviders({ httpPort: 0, smtpPort: 0 });
  base = `http://127.0.0.1:${mocks.httpPort}`;
});

afterAll(() => mocks.close());

beforeEach(async () => {
  const res = await fetch(`${base}/__reset`, { method: 'POST' });
  expect(res.status).toBe(200);
});

async function setFault(provider: ProviderName | 'all', fault: FaultRequest): Promise<void> {
  const res = await fetch(`${base}/__faults/${provider}`, { method: 'PUT', body: JSON.stringify(fault) });
  expect(res.status).toBe(200);
}

async function inspect(provider: ProviderName): Promise<InspectEntry[]> {
  const res = await fetch(`${base}/__inspect/${provider}`);
  expect(res.status).toBe(200);
  return (await res.json()) as InspectEntry[];
}

/** Polls until `probe` returns a value; a hung request gives no event to await. */
async function eventually<T>(probe: () => Promise<T | undefined>, deadlineMs = 2_000): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${deadlineMs} ms`);
    await pause(10);
  }
}

const deliveredKey = (provider: ProviderName, key: string) => () =>
  inspect(provider).then((entries) => entries.find((entry) => entry.key === key && entry.deliveries > 0));

const contact = { email: 'ada@example.com', name: 'Ada', workspace: 'acme', externalId: 'user_1' };

function postContact(key: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${base}/crm/contacts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify(contact),
    ...init,
  });
}

// The provider stores bytes without decoding them; the PNG signature only makes the intent plain.
const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(64, 7)]);

function putAvatar(name: string, key: string, body: Buffer = png, contentType = 'image/png'): Promise<Response> {
  return fetch(`${base}/storage/avatars/${name}.png`, {
    method: 'PUT',
    headers: { 'content-type': contentType, 'idempotency-key': key },
    // Copied into a plain ArrayBuffer view: fetch's types refuse Buffer's ArrayBufferLike.
    body: new Uint8Array(body),
  });
}

function mailer() {
  return nodemailer.createTransport({ host: '127.0.0.1', port: mocks.smtpPort, secure: false, ignoreTLS: true });
}

function sendWelcome(messageId: string) {
  return mailer().sendMail({
    from: 'signup@example.com',
    to: 'ada@example.com',
    subject: 'Welcome, Ada',
    text: 'Your workspace is ready.',
    html: '<p>Your workspace is ready.</p>',
    messageId,
  });
}

describe('crm', () => {
  describe('when a contact is posted', () => {
    it('creates it with a crm_ id and records the body as sent', async () => {
      const res = await postContact('signup-1:crm');
      expect(res.status).toBe(201);
      const { id } = (await res.json()) as { id: string };
      expect(id).toMatch(/^crm_/);
      const [entry] = await inspect('crm');
      expect(entry).toMatchObject({ key: 'signup-1:crm', deliveries: 1, failures: 0, body: contact });
      expect(new Date(entry?.firstAt ?? '').toISOString()).toBe(entry?.firstAt);
    });
  });

  describe('when the same Idempotency-Key is sent twice', () => {
    it('returns the first contact id and counts two deliveries', async () => {
      const first = await postContact('signup-2:crm');
      const second = await postContact('signup-2:crm');
      expect(first.status).toBe(201);
      expect(second.status).toBe(200);
      expect(await second.json()).toEqual(await first.json());
      expect(await inspect('crm')).toMatchObject([{ key: 'signup-2:crm', deliveries: 2, failures: 0 }]);
    });
  });

  describe('when the request is malformed', () => {
    it('refuses a missing Idempotency-Key with 400 and records nothing', async () => {
      const res = await fetch(`${base}/crm/contacts`, { method: 'POST', body: JSON.stringify(contact) });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: expect.stringContaining('Idempotency-Key') });
      expect(await inspect('crm')).toEqual([]);
    });

    it('refuses invalid JSON and a body missing required fields with 400', async () => {
      expect((await postContact('k', { body: '{not json' })).status).toBe(400);
      expect((await postContact('k', { body: JSON.stringify({ name: 'Ada' }) })).status).toBe(400);
    });

    it('refuses a JSON body over 1 MiB with 413', async () => {
      const body = JSON.stringify({ ...contact, name: 'x'.repeat(1024 * 1024) });
      expect((await postContact('k', { body })).status).toBe(413);
    });
  });
});

describe('fault modes over HTTP', () => {
  it('answers 503 at once when down, and counts a failure for the key', async () => {
    await setFault('crm', { mode: 'down' });
    const res = await postContact('k-down');
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ error: expect.any(String) });
    expect(await inspect('crm')).toMatchObject([{ key: 'k-down', deliveries: 0, failures: 1, body: null }]);
  });

  it('answers 429 with Retry-After when rate limited', async () => {
    await setFault('crm', { mode: 'ratelimit', retryAfterSeconds: 7 });
    const res = await postContact('k-limit');
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('7');
  });

  it('answers 422 when rejecting', async () => {
    await setFault('analytics', { mode: 'reject' });
    const res = await fetch(`${base}/analytics/events`, {
      method: 'POST',
      headers: { 'idempotency-key': 'evt-1' },
      body: JSON.stringify({ event: 'signup', eventId: 'evt-1', userId: 'user_1' }),
    });
    expect(res.status).toBe(422);
  });

  it('answers 503 when flaky with failureRate 1', async () => {
    await setFault('crm', { mode: 'flaky', failureRate: 1 });
    expect((await postContact('k-flaky')).status).toBe(503);
    expect((await postContact('k-flaky')).status).toBe(503);
    expect(await inspect('crm')).toMatchObject([{ deliveries: 0, failures: 2 }]);
  });

  it('serves normally after latencyMs when slow', async () => {
    await setFault('crm', { mode: 'slow', latencyMs: 200 });
    const started = performance.now();
    const res = await postContact('k-slow');
    expect(res.status).toBe(201);
    // Only a lower bound: timers never fire early by more than clock rounding.
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
  });

  it('counts failures and the later delivery on the same key once the provider is back', async () => {
    await setFault('crm', { mode: 'down' });
    await postContact('k-retry');
    await setFault('crm', { mode: 'up' });
    expect((await postContact('k-retry')).status).toBe(201);
    expect(await inspect('crm')).toMatchObject([{ key: 'k-retry', deliveries: 1, failures: 1, body: contact }]);
  });

  it('leaves other providers alone when one is faulted', async () => {
    await setFault('crm', { mode: 'down' });
    const res = await fetch(`${base}/alerts`, {
      method: 'POST',
      headers: { 'idempotency-key': 'alert-1' },
      body: JSON.stringify({ queue: 'crm', jobId: '1' }),
    });
    expect(res.status).toBe(202);
  });

  describe('when hanging', () => {
    it('accepts the request and never answers', async () => {
      await setFault('crm', { mode: 'hang' });
      await expect(postContact('k-hang', { signal: AbortSignal.timeout(300) })).rejects.toMatchObject({
        name: 'TimeoutError',
      });
      expect(await inspect('crm')).toMatchObject([{ key: 'k-hang', deliveries: 1, failures: 0 }]);
    });

    it('cuts the hung connection on reset, after which the provider answers again', async () => {
      await setFault('crm', { mode: 'hang' });
      const hung = postContact('k-hang', { signal: AbortSignal.timeout(5_000) });
      await eventually(deliveredKey('crm', 'k-hang'));
      await fetch(`${base}/__reset`, { method: 'POST' });
      await expect(hung).rejects.toMatchObject({ name: 'TypeError' });
      expect((await postContact('k-after')).status).toBe(201);
    });
  });
});

describe('storage', () => {
  describe('when an avatar is uploaded', () => {
    it('returns a URL on the Host used that serves the same bytes as image/png', async () => {
      const res = await putAvatar('user_1', 'avatar-1');
      expect(res.status).toBe(201);
      const { url } = (await res.json()) as { url: string };
      expect(url).toBe(`${base}/storage/avatars/user_1.png`);
      const image = await fetch(url);
      expect(image.status).toBe(200);
      expect(image.headers.get('content-type')).toBe('image/png');
      expect(Buffer.from(await image.arrayBuffer()).equals(png)).toBe(true);
    });

    it('records size, type and checksum instead of the image', async () => {
      await putAvatar('user_1', 'avatar-1');
      const sha256 = createHash('sha256').update(png).digest('hex');
      expect(await inspect('storage')).toMatchObject([
        { key: 'avatar-1', deliveries: 1, body: { bytes: png.length, contentType: 'image/png', sha256 } },
      ]);
    });

    it('answers a repeated key with 200 and the same URL', async () => {
      const first = (await (await putAvatar('user_1', 'avatar-1')).json()) as { url: string };
      const second = await putAvatar('user_1', 'avatar-1');
      expect(second.status).toBe(200);
      expect(await second.json()).toEqual(first);
      expect(await inspect('storage')).toMatchObject([{ deliveries: 2 }]);
    });
  });

  it('refuses an upload over 2 MiB with 413 and one that is not image/png with 415', async () => {
    expect((await putAvatar('big', 'avatar-big', Buffer.alloc(2 * 1024 * 1024 + 1))).status).toBe(413);
    expect((await putAvatar('gif', 'avatar-gif', png, 'image/gif')).status).toBe(415);
  });

  it('serves stored avatars while the upload path is down, and 404 for unknown ones', async () => {
    await putAvatar('user_1', 'avatar-1');
    await setFault('storage', { mode: 'down' });
    expect((await putAvatar('user_2', 'avatar-2')).status).toBe(503);
    expect((await fetch(`${base}/storage/avatars/user_1.png`)).status).toBe(200);
    expect((await fetch(`${base}/storage/avatars/user_2.png`)).status).toBe(404);
  });
});

describe('analytics and alerts', () => {
  it('accepts an event with 202 and counts a repeated eventId key as a second delivery', async () => {
    const send = () =>
      fetch(`${base}/analytics/events`, {
        method: 'POST',
        headers: { 'idempotency-key': 'evt-1' },
        body: JSON.stringify({ event: 'signup', eventId: 'evt-1', userId: 'user_1', properties: { plan: 'free' } }),
      });
    const first = await send();
    expect(first.status).toBe(202);
    expect(await first.json()).toEqual({ accepted: true });
    expect((await send()).status).toBe(202);
    expect(await inspect('analytics')).toMatchObject([{ key: 'evt-1', deliveries: 2 }]);
  });

  it('accepts any JSON object as an alert with 202', async () => {
    const alert = { queue: 'email', jobId: '42', error: 'boom' };
    const res = await fetch(`${base}/alerts`, {
      method: 'POST',
      headers: { 'idempotency-key': 'dlq:email:42' },
      body: JSON.stringify(alert),
    });
    expect(res.status).toBe(202);
    expect(await inspect('alerts')).toMatchObject([{ key: 'dlq:email:42', body: alert }]);
  });
});

describe('control routes', () => {
  it('answers health with 200 and unknown routes with 404', async () => {
    expect((await fetch(`${base}/__health`)).status).toBe(200);
    expect((await fetch(`${base}/nowhere`)).status).toBe(404);
  });

  it('lists the mode of all five providers, with defaults filled in', async () => {
    await setFault('all', { mode: 'slow' });
    await setFault('smtp', { mode: 'flaky', failureRate: 0.25 });
    const faults = (await (await fetch(`${base}/__faults`)).json()) as Record<string, unknown>;
    expect(Object.keys(faults).sort()).toEqual(['alerts', 'analytics', 'crm', 'smtp', 'storage']);
    expect(faults.crm).toEqual({ mode: 'slow', latencyMs: 1000, failureRate: 0.5, retryAfterSeconds: 1, rateLimitPerSecond: 50 });
    expect(faults.smtp).toMatchObject({ mode: 'flaky', failureRate: 0.25 });
  });

  it('refuses a bad fault body or an unknown provider with 400', async () => {
    const put = (target: string, body: string) => fetch(`${base}/__faults/${target}`, { method: 'PUT', body });
    expect((await put('crm', JSON.stringify({ mode: 'sideways' }))).status).toBe(400);
    expect((await put('crm', JSON.stringify({ mode: 'flaky', failureRate: 2 }))).status).toBe(400);
    expect((await put('crm', '{oops')).status).toBe(400);
    expect((await put('mailchimp', JSON.stringify({ mode: 'down' }))).status).toBe(400);
  });

  it('answers 404 when inspecting an unknown provider', async () => {
    expect((await fetch(`${base}/__inspect/mailchimp`)).status).toBe(404);
  });

  it('clears faults, records and stored avatars on reset', async () => {
    await postContact('k-1');
    await putAvatar('user_1', 'avatar-1');
    await setFault('all', { mode: 'down' });
    await fetch(`${base}/__reset`, { method: 'POST' });
    expect(await inspect('crm')).toEqual([]);
    expect(await inspect('storage')).toEqual([]);
    expect((await fetch(`${base}/storage/avatars/user_1.png`)).status).toBe(404);
    expect((await postContact('k-2')).status).toBe(201);
  });
});

describe('rate limits', () => {
  let sent = 0;
  // Fresh keys each time: a repeated key would be answered as a replay (200), not a creation.
  const burst = (count: number) => Promise.all(Array.from({ length: count }, () => postContact(`burst-${(sent += 1)}`)));
  const statuses = (responses: Response[]) => responses.map((res) => res.status);

  it('answers 429 with Retry-After past the CRM limit of 50 per second, and counts a failure for the key', async () => {
    const started = performance.now();
    const responses = await burst(150);
    const burstSeconds = (performance.now() - started) / 1_000;
    const limited = responses.filter((res) => res.status === 429);
    const created = statuses(responses).filter((status) => status === 201).length;
    // The bucket holds one second's worth (50) and refills at 50/s while the burst lasts: a few ms
    // on a quiet machine, longer on a busy one (only a burst of over 2 s would meet no limit).
    expect(created).toBeGreaterThanOrEqual(50);
    expect(created).toBeLessThanOrEqual(50 + Math.ceil(burstSeconds * 50));
    expect(limited.length).toBe(150 - created);
    expect(limited.length).toBeGreaterThan(0);
    expect(limited.every((res) => res.headers.get('retry-after') === '1')).toBe(true);
    const failed = (await inspect('crm')).filter((entry) => entry.failures > 0);
    expect(failed).toHaveLength(limited.length);
    expect(failed.every((entry) => entry.deliveries === 0 && entry.failures === 1)).toBe(true);
  });

  it('applies a lowered limit set through the fault API, in every serving mode', async () => {
    await setFault('crm', { mode: 'slow', latencyMs: 0, rateLimitPerSecond: 2 });
    expect(statuses(await burst(5)).filter((status) => status === 429)).toHaveLength(3);
    const faults = (await (await fetch(`${base}/__faults`)).json()) as Record<string, unknown>;
    expect(faults.crm).toMatchObject({ mode: 'slow', rateLimitPerSecond: 2 });
    expect(faults.storage).toMatchObject({ mode: 'up', rateLimitPerSecond: 100 });
  });

  it('answers Retry-After in whole seconds until a token frees, at least 1', async () => {
    await setFault('crm', { mode: 'up', rateLimitPerSecond: 0.25 });
    expect((await postContact('slow-1')).status).toBe(201);
    const limited = await postContact('slow-2');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('4');
  });

  it('keeps the limit when only the mode changes, and lifts it with 0', async () => {
    await setFault('crm', { mode: 'up', rateLimitPerSecond: 1 });
    await setFault('crm', { mode: 'flaky', failureRate: 0 });
    expect(statuses(await burst(3))).toContain(429);
    await setFault('crm', { mode: 'up', rateLimitPerSecond: 0 });
    expect(statuses(await burst(200)).every((status) => status === 201)).toBe(true);
  });

  it('leaves scripted faults as set: down answers 503, not 429, past the limit', async () => {
    await setFault('crm', { mode: 'down', rateLimitPerSecond: 1 });
    expect(statuses(await burst(5)).every((status) => status === 503)).toBe(true);
  });

  it('restores the default limits on reset', async () => {
    await setFault('all', { mode: 'up', rateLimitPerSecond: 1 });
    expect(statuses(await burst(3))).toContain(429);
    await fetch(`${base}/__reset`, { method: 'POST' });
    const faults = (await (await fetch(`${base}/__faults`)).json()) as Record<string, { rateLimitPerSecond: number }>;
    expect(Object.fromEntries(Object.entries(faults).map(([name, fault]) => [name, fault.rateLimitPerSecond]))).toEqual({
      smtp: 100,
      crm: 50,
      storage: 100,
      analytics: 200,
      alerts: 10,
    });
    expect(statuses(await burst(40)).every((status) => status === 201)).toBe(true);
  });

  it('refuses a negative limit with 400', async () => {
    const res = await fetch(`${base}/__faults/crm`, { method: 'PUT', body: JSON.stringify({ mode: 'up', rateLimitPerSecond: -1 }) });
    expect(res.status).toBe(400);
  });

  it('answers 451 4.7.0 over SMTP past the limit', async () => {
    await setFault('smtp', { mode: 'up', rateLimitPerSecond: 1 });
    await sendWelcome('<limit-1@example.test>');
    await expect(sendWelcome('<limit-2@example.test>')).rejects.toMatchObject({ responseCode: 451, response: expect.stringContaining('4.7.0') });
    expect((await inspect('smtp')).find((entry) => entry.key === '<limit-2@example.test>')).toMatchObject({ failures: 1, deliveries: 0 });
  });
});

describe('smtp', () => {
  describe('when a message is sent', () => {
    it('records it by Message-ID with envelope, subject, text and html', async () => {
      await sendWelcome('<welcome-1@signup.test>');
      expect(await inspect('smtp')).toMatchObject([
        {
          key: '<welcome-1@signup.test>',
          deliveries: 1,
          failures: 0,
          body: {
            from: 'signup@example.com',
            to: ['ada@example.com'],
            subject: 'Welcome, Ada',
            text: 'Your workspace is ready.',
            html: '<p>Your workspace is ready.</p>',
          },
        },
      ]);
    });
  });

  describe('when the same Message-ID is sent twice', () => {
    it('keeps one record and counts two deliveries', async () => {
      await sendWelcome('<welcome-2@signup.test>');
      await sendWelcome('<welcome-2@signup.test>');
      expect(await inspect('smtp')).toMatchObject([{ key: '<welcome-2@signup.test>', deliveries: 2 }]);
    });
  });

  it('reads a Message-ID folded over two lines, and none from the body', async () => {
    const folded = mailer().sendMail({
      envelope: { from: 'signup@example.com', to: ['ada@example.com'] },
      raw: 'From: signup@example.com\r\nMessage-ID:\r\n <folded@signup.test>\r\nSubject: folded\r\n\r\nhello\r\n',
    });
    await expect(folded).resolves.toBeDefined();
    expect((await inspect('smtp')).map((entry) => entry.key)).toEqual(['<folded@signup.test>']);
    const inBody = mailer().sendMail({
      envelope: { from: 'signup@example.com', to: ['ada@example.com'] },
      raw: 'From: signup@example.com\r\nSubject: id in body\r\n\r\nMessage-ID: <body@signup.test>\r\n',
    });
    await expect(inBody).rejects.toMatchObject({ responseCode: 550 });
  });

  it('refuses a message without Message-ID with 550', async () => {
    const sent = mailer().sendMail({
      envelope: { from: 'signup@example.com', to: ['ada@example.com'] },
      raw: 'From: signup@example.com\r\nTo: ada@example.com\r\nSubject: no id\r\n\r\nhello\r\n',
    });
    await expect(sent).rejects.toMatchObject({ responseCode: 550 });
  });

  it('answers 421 when down and counts a failure for the Message-ID', async () => {
    await setFault('smtp', { mode: 'down' });
    await expect(sendWelcome('<down@signup.test>')).rejects.toMatchObject({ responseCode: 421 });
    expect(await inspect('smtp')).toMatchObject([{ key: '<down@signup.test>', deliveries: 0, failures: 1 }]);
  });

  it('answers 550 when rejecting, and 451 4.7.0 when rate limited', async () => {
    await setFault('smtp', { mode: 'reject' });
    await expect(sendWelcome('<reject@signup.test>')).rejects.toMatchObject({ responseCode: 550 });
    await setFault('smtp', { mode: 'ratelimit' });
    await expect(sendWelcome('<limit@signup.test>')).rejects.toMatchObject({
      responseCode: 451,
      response: expect.stringContaining('4.7.0'),
    });
  });

  it('answers 451 when flaky with failureRate 1', async () => {
    await setFault('smtp', { mode: 'flaky', failureRate: 1 });
    await expect(sendWelcome('<flaky@signup.test>')).rejects.toMatchObject({ responseCode: 451 });
  });

  it('holds the reply when hanging until reset cuts the connection', async () => {
    await setFault('smtp', { mode: 'hang' });
    const hung = sendWelcome('<hang@signup.test>');
    await eventually(deliveredKey('smtp', '<hang@signup.test>'));
    await fetch(`${base}/__reset`, { method: 'POST' });
    await expect(hung).rejects.toThrow();
  });
});

describe('startMockProviders', () => {
  it('returns the ports it bound and closes promptly with a request still hanging', async () => {
    const other = await startMockProviders({ httpPort: 0, smtpPort: 0 });
    expect(other.httpPort).toBeGreaterThan(0);
    expect(other.smtpPort).toBeGreaterThan(0);
    expect(other.httpPort).not.toBe(mocks.httpPort);
    const otherBase = `http://127.0.0.1:${other.httpPort}`;
    await fetch(`${otherBase}/__faults/crm`, { method: 'PUT', body: JSON.stringify({ mode: 'hang' }) });
    const hung = fetch(`${otherBase}/crm/contacts`, {
      method: 'POST',
      headers: { 'idempotency-key': 'k' },
      body: JSON.stringify(contact),
      signal: AbortSignal.timeout(5_000),
    });
    await eventually(async () => {
      const res = await fetch(`${otherBase}/__inspect/crm`);
      const entries = (await res.json()) as InspectEntry[];
      return entries[0]?.deliveries === 1 ? true : undefined;
    });
    await other.close();
    await expect(hung).rejects.toMatchObject({ name: 'TypeError' });
    await expect(fetch(`${otherBase}/__health`)).rejects.toThrow();
  });

  it('tells onRequest of each provider request with its outcome and moment, over HTTP and SMTP', async () => {
    const events: ProviderRequestEvent[] = [];
    const observed = await startMockProviders({ httpPort: 0, smtpPort: 0, onRequest: (event) => events.push(event) });
    try {
      const observedBase = `http://127.0.0.1:${observed.httpPort}`;
      const post = (key: string) =>
        fetch(`${observedBase}/crm/contacts`, { method: 'POST', headers: { 'idempotency-key': key }, body: JSON.stringify(contact) });
      const before = Date.now();
      expect((await post('observed-1')).status).toBe(201);
      await fetch(`${observedBase}/__faults/crm`, { method: 'PUT', body: JSON.stringify({ mode: 'down' }) });
      expect((await post('observed-2')).status).toBe(503);
      await nodemailer
        .createTransport({ host: '127.0.0.1', port: observed.smtpPort, secure: false, ignoreTLS: true })
        .sendMail({ from: 'signup@example.com', to: 'ada@example.com', subject: 'Hi', text: 'Hi', messageId: '<observed@signup.test>' });

      // Control routes are not provider requests.
      expect(events.map(({ provider, outcome }) => ({ provider, outcome }))).toEqual([
        { provider: 'crm', outcome: 'served' },
        { provider: 'crm', outcome: 'down' },
        { provider: 'smtp', outcome: 'served' },
      ]);
      expect(events.every((event) => event.at >= before && event.at <= Date.now())).toBe(true);
    } finally {
      await observed.close();
    }
  });
});
