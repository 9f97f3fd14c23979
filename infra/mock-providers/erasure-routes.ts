// The deletes that erase a person's data at the HTTP providers, as a deleted account's erasure jobs
// and a late create's cleanup send them (docs/failure-model.md#erasure): the CRM's contacts by the
// external id they were created with, the analytics events of a user, a stored avatar. Each passes
// through the provider's fault mode like any mutation, needs no Idempotency-Key (deleting twice is
// deleting once), and is applied every time it is asked, so a delete after a late create removes
// it. /__inspect shows each deletion under `DELETE <path>`, and the records it emptied with their
// `deletedAt`.
import { setTimeout as delay } from 'node:timers/promises';
import { sendJson, type Exchange, type Route } from './http-exchange';
import { AVATAR_PATH, sendFault } from './provider-routes';
import type { ProviderName } from '@/lib/providers';

interface Deletion {
  provider: ProviderName;
  /** Whose data goes: the subject the creating requests recorded (provider-records.ts). */
  subject: string;
  /** What else the provider keeps for the subject besides its records (the avatar's bytes). */
  alsoRemove?: () => void;
}

async function serveDeletion(exchange: Exchange, { provider, subject, alsoRemove }: Deletion): Promise<void> {
  const { req, res, state } = exchange;
  const key = `DELETE ${new URL(req.url ?? '/', 'http://mock.invalid').pathname}`;
  const apply = () => {
    alsoRemove?.();
    return state.records.recordDeletion(provider, key, subject);
  };

  const decision = state.faults.decide(provider);
  if (decision.kind === 'fail') {
    state.records.recordFailure(provider, key);
    return sendFault(exchange, decision);
  }
  if (decision.kind === 'hang') {
    // As for any mutation: applied, but the answer is lost, so the client's retry must find nothing left.
    apply();
    const forget = state.held.hold(() => req.socket.destroy());
    req.socket.once('close', forget);
    return;
  }
  if (decision.delayMs > 0) await delay(decision.delayMs, undefined, { signal: state.closing });
  // 200 with a count rather than 204: a test (or a person) reads how much a repeat still found.
  sendJson(res, 200, { deleted: apply() });
}

export const erasureRoutes: Route[] = [
  {
    method: 'DELETE',
    requiresApiKey: true,
    path: /^\/crm\/contacts\/by-external-id\/([^/]+)$/,
    handle: (exchange, [externalId = '']) => serveDeletion(exchange, { provider: 'crm', subject: externalId }),
  },
  {
    method: 'DELETE',
    requiresApiKey: true,
    path: /^\/analytics\/users\/([^/]+)\/events$/,
    handle: (exchange, [userId = '']) => serveDeletion(exchange, { provider: 'analytics', subject: userId }),
  },
  {
    method: 'DELETE',
    requiresApiKey: true,
    path: AVATAR_PATH,
    handle: (exchange, [name = '']) =>
      serveDeletion(exchange, { provider: 'storage', subject: name, alsoRemove: () => exchange.state.avatars.delete(name) }),
  },
];
