// The soak's steady load, through the web's public routes as clients use them: signups
// (POST /api/signups), bulk invitations (the admin's invite API, with Basic credentials), resends
// of the verification email and account deletions (the status token's routes). Every request is
// recorded with its moments and its answer, or `no-answer` when the web was killed, stopped, or
// did not answer within the client's timeout.
import { mulberry32 } from './prng';

/** Requests per second of each kind: a steady trickle two cores carry alongside the faults. */
export const LOAD_RATES = { signup: 3, invite: 0.1, resend: 0.3, delete: 0.2 } as const;
/** Addresses per invitation request. */
const INVITES_PER_REQUEST = 5;
/** A client gives up after this; a SIGSTOPped web answers nothing until it is continued. */
const CLIENT_TIMEOUT_MS = 10_000;
const WORKSPACES = ['acme', 'globex', 'initech'] as const;

export type RequestKind = keyof typeof LOAD_RATES;

export interface RequestRecord {
  kind: RequestKind;
  /** Ms since the soak started. */
  sentAt: number;
  answeredAt: number;
  status: number | 'no-answer';
  /** The user the request was about (signups: the one created). */
  userId?: string;
}

export interface SignupRecord {
  id: string;
  email: string;
  token: string;
  /** `unknown`: the deletion was sent and no answer came, so it may or may not have committed. */
  deleted: 'no' | 'yes' | 'unknown';
}

export interface LoadDriver {
  requests: RequestRecord[];
  /** Accepted signups (201), by user id. */
  signups: Map<string, SignupRecord>;
  /** Stops sending and waits for the requests in flight. */
  stop(): Promise<void>;
}

export function startLoad({ webUrl, adminAuthorization, seed, startedAt }: { webUrl: string; adminAuthorization: string; seed: number; startedAt: number }): LoadDriver {
  // Its own stream from the seed, so the load's choices do not shift the fault schedule.
  const random = mulberry32(seed ^ 0x5eed);
  const requests: RequestRecord[] = [];
  const signups = new Map<string, SignupRecord>();
  const inFlight = new Set<Promise<void>>();
  let sequence = 0;

  const send = (kind: RequestKind, path: string, init: RequestInit, onAnswer?: (status: number, body: unknown) => void, userId?: string) => {
    const sentAt = Date.now() - startedAt;
    const request = (async () => {
      let status: number | 'no-answer' = 'no-answer';
      try {
        const response = await fetch(`${webUrl}${path}`, { ...init, signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS) });
        status = response.status;
        const body: unknown = await response.json().catch(() => undefined);
        onAnswer?.(status, body);
      } catch {
        // refused, reset or timed out: recorded as no answer
      }
      requests.push({ kind, sentAt, answeredAt: Date.now() - startedAt, status, ...(userId ? { userId } : {}) });
    })();
    inFlight.add(request);
    void request.finally(() => inFlight.delete(request));
  };

  const liveSignup = () => {
    const live = [...signups.values()].filter((signup) => signup.deleted === 'no');
    return live.length > 0 ? random.pick(live) : undefined;
  };

  const actions: Record<RequestKind, () => void> = {
    signup() {
      sequence += 1;
      const body = { name: `Chaos User ${sequence}`, email: `chaos-${seed}-${sequence}-${startedAt}@example.test`, workspace: random.pick(WORKSPACES) };
      send('signup', '/api/signups', json('POST', body), (status, answer) => {
        if (status !== 201) return;
        const { id, statusUrl } = answer as { id: string; statusUrl: string };
        const token = /\/welcome\/([A-Za-z0-9_-]+)/.exec(statusUrl)?.[1];
        if (token) signups.set(id, { id, email: body.email, token, deleted: 'no' });
      });
    },
    invite() {
      sequence += 1;
      const emails = Array.from({ length: INVITES_PER_REQUEST }, (_, index) => `invitee-${seed}-${sequence}-${index}-${startedAt}@example.test`);
      const init = json('POST', { emails });
      send('invite', `/api/workspaces/${random.pick(WORKSPACES)}/invites`, { ...init, headers: { ...init.headers, authorization: adminAuthorization } });
    },
    resend() {
      const signup = liveSignup();
      if (signup) send('resend', `/api/welcome/${signup.token}/verification-email`, { method: 'POST' }, undefined, signup.id);
    },
    delete() {
      const signup = liveSignup();
      if (!signup) return;
      signup.deleted = 'unknown';
      send(
        'delete',
        `/api/welcome/${signup.token}`,
        { method: 'DELETE' },
        (status) => {
          // Refused before anything committed (503 while PostgreSQL is away): still an account.
          signup.deleted = status === 204 || status === 404 ? 'yes' : status >= 400 ? 'no' : 'unknown';
        },
        signup.id,
      );
    },
  };

  const timers = (Object.keys(LOAD_RATES) as RequestKind[]).map((kind) => setInterval(actions[kind], 1_000 / LOAD_RATES[kind]));

  return {
    requests,
    signups,
    async stop() {
      for (const timer of timers) clearInterval(timer);
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
  };
}

function json(method: string, body: unknown): RequestInit & { headers: Record<string, string> } {
  return { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}
