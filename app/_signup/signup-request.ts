// POST /api/signups and POST /api/signups/sync, as plain Request → Response functions (the route
// files only wire in this process's dependencies). Every refusal is an expected value with its
// status code; only a bug can produce a 500.
import 'server-only';
import { badRequest } from '@/app/_web/bad-request';
import { readCappedText, refuseUnreadBody } from '@/lib/capped-body';
import { inSpan } from '@/lib/tracing';
import { clientAddress } from '@/lib/client-address';
import { errorSummary, type Logger } from '@/lib/log';
import { metrics } from '@/lib/metrics';
import type { DispatchMarks } from '@/lib/outbox';
import type { QueueSet } from '@/lib/queues';
import type { Pool } from '@/lib/sql';
import type { AnalyticsShedder } from '@/app/_signup/analytics-shedding';
import { createSignup } from '@/app/_signup/create-signup';
import { statusPath } from '@/lib/access-tokens';
import type { RateLimiter } from '@/app/_signup/rate-limiter';
import {
  DUPLICATE_EMAIL_ERRORS,
  parseSignupInput,
  type SignupInput,
} from '@/app/_signup/signup-input';

/** A signup body is small; anything larger is refused before it is read whole. */
export const MAX_BODY_BYTES = 16 * 1024;

export interface SignupDeps {
  pool: Pool;
  queues: QueueSet;
  limiter: RateLimiter;
  log: Logger;
  followUpDelayMs: number;
  /** Optional so callers without one (tests, scripts) keep every analytics event. */
  shedder?: AnalyticsShedder;
  /** The process's batch of dispatched marks (lib/outbox.ts); without it each signup writes its own. */
  marks?: DispatchMarks;
}

type Refusal = Response;

export async function handleSignupRequest(request: Request, deps: SignupDeps): Promise<Response> {
  const stop = metrics().requestSeconds.startTimer({ route: '/api/signups' });
  // A throw is a bug, which Next answers with 500.
  let status = 500;
  try {
    const response = await inSpan('signup', {}, async (span) => {
      const answer = await answerSignup(request, deps);
      span.setAttribute('http.response.status_code', answer.status);
      return answer;
    });
    status = response.status;
    return response;
  } finally {
    stop({ status: String(status) });
  }
}

async function answerSignup(request: Request, deps: SignupDeps): Promise<Response> {
  const input = await readSignupRequest(request, deps);
  if (input instanceof Response) return input;

  const outcome = await createSignup(input, deps);
  switch (outcome.status) {
    case 'created': {
      const statusUrl = statusPath(outcome.statusToken);
      deps.log.debug('signup created', { user: outcome.userId, dispatched: outcome.dispatched });
      // Relative Location: req.url inside Next route handlers reports localhost.
      return Response.json({ id: outcome.userId, statusUrl }, { status: 201, headers: { location: statusUrl } });
    }
    case 'duplicate':
      return Response.json({ errors: DUPLICATE_EMAIL_ERRORS }, { status: 409 });
    case 'unavailable':
      return unavailable(outcome.error, deps.log);
  }
}

/**
 * Everything both signup endpoints check before saving, in order: rate limit, content type, size,
 * JSON, fields. Returns the validated input or the response that refuses it.
 */
export async function readSignupRequest(
  request: Request,
  { limiter }: Pick<SignupDeps, 'limiter'>,
): Promise<SignupInput | Refusal> {
  const decision = await limiter.take(clientAddress(request.headers));
  if (!decision.allowed) {
    const from = decision.scope === 'address' ? 'from this address' : 'right now';
    return Response.json(
      { error: `Too many signups ${from}; try again shortly.` },
      { status: 429, headers: { 'retry-after': String(decision.retryAfterSeconds) } },
    );
  }

  const contentType = request.headers.get('content-type') ?? '';
  if (!/^application\/json\s*(;|$)/i.test(contentType)) {
    return Response.json({ error: 'Send the signup as application/json.' }, { status: 415 });
  }

  const body = await readCappedText(request, MAX_BODY_BYTES);
  if (body.kind !== 'read') return refuseUnreadBody(body, `${MAX_BODY_BYTES} bytes`);

  let raw: unknown;
  try {
    raw = JSON.parse(body.text);
  } catch {
    return badRequest({ body: 'The body is not valid JSON.' });
  }
  const parsed = parseSignupInput(raw);
  return parsed.ok ? parsed.input : badRequest(parsed.errors);
}

export function unavailable(error: unknown, log: Logger): Response {
  log.error('signup could not be saved', { error: errorSummary(error) });
  return Response.json(
    { error: 'We cannot take signups right now; please try again in a moment.' },
    { status: 503, headers: { 'retry-after': '5' } },
  );
}
