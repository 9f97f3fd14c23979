// The mocks' deletes over real sockets: what an erasure job and a late create's cleanup see, and
// what /__inspect then shows. The erasure suite (tests/account-erasure.test.ts) trusts these.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FaultRequest } from './fault-modes';
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
  expect((await fetch(`${base}/__reset`, { method: 'POST' })).status).toBe(200);
});

async function setFault(provider: ProviderName, fault: FaultRequest): Promise<void> {
  expect((await fetch(`${base}/__faults/${provider}`, { method: 'PUT', body: JSON.stringify(fault) })).status).toBe(200);
}

async function inspect(provider: ProviderName): Promise<Map<string, InspectEntry>> {
  const entries = (await (await fetch(`${base}/__inspect/${provider}`)).json()) as InspectEntry[];
  return new Map(entries.map((entry) => [entry.key, entry]));
}

function post(path: string, key: string, body: unknown): Promise<Response> {
  return fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify(body),
  });
}

const postContact = (externalId: string, key = `contact-${externalId}`) =>
  post('/crm/contacts', key, { email: `${externalId}@example.com`, name: 'Ada', externalId });
const postEvent = (userId: string, eventId: string) => post('/analytics/events', eventId, { event: 'user_signed_up', eventId, userId });
const remove = (path: string, init: RequestInit = {}) => fetch(`${base}${path}`, { method: 'DELETE', ...init });

describe('DELETE /crm/contacts/by-external-id/<id>', () => {
  it('empties that person\'s contact, leaves everyone else\'s, and shows both in /__inspect', async () => {
    await postContact('user_1');
    await postContact('user_2');
    const res = await remove('/crm/contacts/by-external-id/user_1');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ deleted: 1 });

    const crm = await inspect('crm');
    expect(crm.get('contact-user_1')).toMatchObject({ deliveries: 1, body: null, deletedAt: expect.any(String) });
    expect(crm.get('contact-user_2')).toMatchObject({ body: { externalId: 'user_2' }, deletedAt: null });
    expect(crm.get('DELETE /crm/contacts/by-external-id/user_1')).toMatchObject({
      deliveries: 1,
      body: { deleted: 'user_1', removed: 1 },
      deletedAt: null,
    });
    expect(JSON.stringify([...crm.values()])).not.toContain('user_1@example.com');
  });

  it('succeeds with nothing left to delete, and removes a contact created after an earlier delete', async () => {
    expect(await (await remove('/crm/contacts/by-external-id/user_3')).json()).toEqual({ deleted: 0 });
    await postContact('user_3');
    expect(await (await remove('/crm/contacts/by-external-id/user_3')).json()).toEqual({ deleted: 1 });
    const crm = await inspect('crm');
    expect(crm.get('DELETE /crm/contacts/by-external-id/user_3')).toMatchObject({ deliveries: 2, body: { removed: 1 } });
    expect(crm.get('contact-user_3')).toMatchObject({ body: null, deletedAt: expect.any(String) });
  });

  it('replays a repeated create of a deleted contact without bringing it back', async () => {
    const first = (await (await postContact('user_4')).json()) as { id: string };
    await remove('/crm/contacts/by-external-id/user_4');
    const again = await postContact('user_4');
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(first);
    expect((await inspect('crm')).get('contact-user_4')).toMatchObject({ deliveries: 2, body: null });
  });
});

describe('DELETE /analytics/users/<id>/events', () => {
  it('empties every event of that user and no one else\'s', async () => {
    await postEvent('user_1', 'signed_up-user_1');
    await postEvent('user_1', 'verified-user_1');
    await postEvent('user_2', 'signed_up-user_2');
    expect(await (await remove('/analytics/users/user_1/events')).json()).toEqual({ deleted: 2 });
    const analytics = await inspect('analytics');
    expect(analytics.get('signed_up-user_1')).toMatchObject({ body: null, deletedAt: expect.any(String) });
    expect(analytics.get('verified-user_1')).toMatchObject({ body: null, deletedAt: expect.any(String) });
    expect(analytics.get('signed_up-user_2')).toMatchObject({ body: { userId: 'user_2' }, deletedAt: null });
  });
});

describe('DELETE /storage/avatars/<name>.png', () => {
  it('removes the stored image, so reading it answers 404', async () => {
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const put = await fetch(`${base}/storage/avatars/user_1.png`, {
      method: 'PUT',
      headers: { 'content-type': 'image/png', 'idempotency-key': 'avatar-user_1' },
      body: png,
    });
    expect(put.status).toBe(201);
    expect((await fetch(`${base}/storage/avatars/user_1.png`)).status).toBe(200);

    expect(await (await remove('/storage/avatars/user_1.png')).json()).toEqual({ deleted: 1 });
    expect((await fetch(`${base}/storage/avatars/user_1.png`)).status).toBe(404);
    expect((await inspect('storage')).get('avatar-user_1')).toMatchObject({ body: null, deletedAt: expect.any(String) });
  });
});

describe('a delete under a fault', () => {
  it('answers 503 when down, deletes nothing, and counts a failure', async () => {
    await postContact('user_1');
    await setFault('crm', { mode: 'down' });
    expect((await remove('/crm/contacts/by-external-id/user_1')).status).toBe(503);
    const crm = await inspect('crm');
    expect(crm.get('contact-user_1')).toMatchObject({ deletedAt: null, body: { externalId: 'user_1' } });
    expect(crm.get('DELETE /crm/contacts/by-external-id/user_1')).toMatchObject({ deliveries: 0, failures: 1 });
  });

  it('deletes and never answers when hanging, like any mutation', async () => {
    await postContact('user_1');
    await setFault('crm', { mode: 'hang' });
    await expect(remove('/crm/contacts/by-external-id/user_1', { signal: AbortSignal.timeout(300) })).rejects.toMatchObject({
      name: 'TimeoutError',
    });
    expect((await inspect('crm')).get('contact-user_1')).toMatchObject({ body: null, deletedAt: expect.any(String) });
  });
});
