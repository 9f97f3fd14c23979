// The HTTP providers the workers call: CRM contacts, avatar storage, analytics events, the
// dead-letter alert webhook, and email for EMAIL_API_URL (recorded as the SMTP server records it,
// under its Message-ID, so inspecting `smtp` shows email whichever way it came). Every mutating route needs an Idempotency-Key and passes through the
// provider's fault mode; a repeated key is counted and replayed, never applied twice. The deletes
// that erase a person's data are in erasure-routes.ts.
import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { z } from 'zod';
import type { FaultDecision } from './fault-modes';
import { HttpError, parseJson, readBody, sendError, sendJson, validate, type Exchange, type Route } from './http-exchange';
import type { AppliedEffect, ProviderResponse } from './provider-records';
import type { ProviderName } from '@/lib/providers';

// A contact or an event is a few hundred bytes; 1 MiB leaves room and still refuses runaways.
const JSON_BODY_LIMIT_BYTES = 1024 * 1024;
// A generated avatar is tens of KiB; 2 MiB is what a real bucket's upload policy might allow.
const AVATAR_BODY_LIMIT_BYTES = 2 * 1024 * 1024;

const identifier = z.union([z.string().min(1), z.number().int()]);

const crmContactSchema = z.object({
  email: z.string().min(3),
  name: z.string(),
  workspace: z.string().nullish(),
  externalId: identifier,
});

const analyticsEventSchema = z.object({
  event: z.string().min(1),
  eventId: identifier,
  userId: identifier,
  properties: z.record(z.string(), z.unknown()).optional(),
});

const alertSchema = z.looseObject({});

const emailSchema = z.object({
  messageId: z.string().min(3),
  from: z.string().min(3),
  to: z.union([z.string().min(3), z.array(z.string().min(3)).min(1)]),
  subject: z.string(),
  text: z.string(),
  html: z.string().optional(),
});

interface Mutation {
  provider: ProviderName;
  limitBytes: number;
  /** Status of the first acceptance; a replay of a created resource answers 200 instead. */
  status: 201 | 202;
  /** Validates the body and returns what accepting it would do, without doing it yet. */
  prepare(body: Buffer, exchange: Exchange): () => AppliedEffect;
}

export function sendFault(exchange: Exchange, decision: Extract<FaultDecision, { kind: 'fail' }>): void {
  const { res } = exchange;
  switch (decision.mode) {
    case 'flaky':
      return sendError(res, 503, 'injected transient failure (flaky)');
    case 'down':
      return sendError(res, 503, 'provider unavailable (down)');
    case 'ratelimit':
      return sendError(res, 429, 'rate limited', { 'retry-after': String(decision.retryAfterSeconds) });
    case 'reject':
      return sendError(res, 422, 'request rejected (injected permanent failure)');
  }
}

async function serveMutation(exchange: Exchange, mutation: Mutation): Promise<void> {
  const { req, res, state } = exchange;
  const key = req.headers['idempotency-key'];
  if (typeof key !== 'string' || key.trim() === '') {
    throw new HttpError(400, 'Idempotency-Key header is required');
  }
  const apply = mutation.prepare(await readBody(req, mutation.limitBytes), exchange);

  const decision = state.faults.decide(mutation.provider);
  if (decision.kind === 'fail') {
    state.records.recordFailure(mutation.provider, key);
    return sendFault(exchange, decision);
  }
  if (decision.kind === 'hang') {
    // The effect lands but the answer is lost: the case idempotency keys exist for, since the
    // client's retry must then show up as a second delivery rather than a second contact.
    state.records.recordDelivery(mutation.provider, key, apply);
    const forget = state.held.hold(() => req.socket.destroy());
    req.socket.once('close', forget);
    return;
  }
  if (decision.delayMs > 0) await delay(decision.delayMs, undefined, { signal: state.closing });

  const delivery = state.records.recordDelivery(mutation.provider, key, apply);
  sendJson(res, delivery.replayed && mutation.status === 201 ? 200 : mutation.status, delivery.response);
}

/**
 * A JSON mutation: the record keeps the body as sent, the schema only guards its shape. `subjectOf`
 * names whose data it is, for a later deletion (erasure-routes.ts).
 */
function acceptJson<T>(schema: z.ZodType<T>, respond: (value: T) => ProviderResponse, subjectOf?: (value: T) => string) {
  return (body: Buffer) => {
    const raw = parseJson(body);
    const value = validate(schema, raw, 'body');
    return () => ({ body: raw, response: respond(value), ...(subjectOf ? { subject: subjectOf(value) } : {}) });
  };
}

// The URL is built from the Host the uploader used, so it resolves from wherever the uploader
// runs (localhost, a container name) rather than from the address this server bound.
function avatarUrl(exchange: Exchange, name: string): string {
  const { socket } = exchange.req;
  const scheme = 'encrypted' in socket && socket.encrypted ? 'https' : 'http';
  const host = exchange.req.headers.host ?? `127.0.0.1:${socket.localPort ?? 80}`;
  return `${scheme}://${host}/storage/avatars/${encodeURIComponent(name)}.png`;
}

export const AVATAR_PATH = /^\/storage\/avatars\/([A-Za-z0-9_-]+)\.png$/;

export const providerRoutes: Route[] = [
  {
    method: 'POST',
    requiresApiKey: true,
    path: /^\/crm\/contacts$/,
    handle: (exchange) =>
      serveMutation(exchange, {
        provider: 'crm',
        limitBytes: JSON_BODY_LIMIT_BYTES,
        status: 201,
        prepare: acceptJson(
          crmContactSchema,
          () => ({ id: `crm_${randomBytes(8).toString('hex')}` }),
          (contact) => String(contact.externalId),
        ),
      }),
  },
  {
    method: 'PUT',
    requiresApiKey: true,
    path: AVATAR_PATH,
    handle: (exchange, [name = '']) =>
      serveMutation(exchange, {
        provider: 'storage',
        limitBytes: AVATAR_BODY_LIMIT_BYTES,
        status: 201,
        prepare(bytes) {
          const contentType = exchange.req.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
          if (contentType !== 'image/png') throw new HttpError(415, 'avatars must be uploaded as image/png');
          const sha256 = createHash('sha256').update(bytes).digest('hex');
          return () => {
            exchange.state.avatars.put(name, { bytes, contentType });
            return { body: { bytes: bytes.length, contentType, sha256 }, response: { url: avatarUrl(exchange, name) }, subject: name };
          };
        },
      }),
  },
  {
    // Reads are not faulted: the welcome page shows the avatar whatever the upload path is doing.
    method: 'GET',
    requiresApiKey: true,
    path: AVATAR_PATH,
    handle({ res, state }, [name = '']) {
      const avatar = state.avatars.get(name);
      if (!avatar) return sendError(res, 404, `no avatar named ${name}`);
      res.writeHead(200, { 'content-type': avatar.contentType, 'content-length': avatar.bytes.length });
      res.end(avatar.bytes);
    },
  },
  {
    method: 'POST',
    requiresApiKey: true,
    path: /^\/analytics\/events$/,
    handle: (exchange) =>
      serveMutation(exchange, {
        provider: 'analytics',
        limitBytes: JSON_BODY_LIMIT_BYTES,
        status: 202,
        prepare: acceptJson(analyticsEventSchema, () => ({ accepted: true }), (event) => String(event.userId)),
      }),
  },
  {
    method: 'POST',
    requiresApiKey: true,
    path: /^\/email\/messages$/,
    handle: (exchange) =>
      serveMutation(exchange, {
        provider: 'smtp',
        limitBytes: JSON_BODY_LIMIT_BYTES,
        status: 202,
        prepare(body) {
          const email = validate(emailSchema, parseJson(body), 'body');
          if (exchange.req.headers['idempotency-key'] !== email.messageId) {
            throw new HttpError(400, 'Idempotency-Key must be the messageId');
          }
          const to = Array.isArray(email.to) ? email.to : [email.to];
          const received = { from: email.from, to, subject: email.subject, text: email.text, ...(email.html ? { html: email.html } : {}) };
          return () => ({ body: received, response: { accepted: true } });
        },
      }),
  },
  {
    method: 'POST',
    requiresApiKey: true,
    path: /^\/alerts$/,
    handle: (exchange) =>
      serveMutation(exchange, {
        provider: 'alerts',
        limitBytes: JSON_BODY_LIMIT_BYTES,
        status: 202,
        prepare: acceptJson(alertSchema, () => ({ accepted: true })),
      }),
  },
];
