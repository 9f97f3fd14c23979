// POST /api/workspaces/<slug>/invites and the admin form's server action, through the same
// functions the route and the page use, against the real database and Valkey: all or nothing, one
// outbox row and one paced email job per new invitation, nobody invited twice, admin only.
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { SESSION_COOKIE, type AdminSession } from '@/app/_admin/auth/admin-session';
import { adminSessions, openSession } from '@/app/_admin/auth/session-store';
import type { WebRuntime } from '@/app/_web/web-runtime';
import { inviteMembersAction } from '@/app/_workspaces/invite-actions';
import type { InviteFormState } from '@/app/_workspaces/invite-form';
import { MAX_INVITES, MAX_LISTED_OFFENDERS, REPEATED_ENTRY } from '@/app/_workspaces/invite-input';
import { handleInviteRequest, MAX_INVITE_BODY_BYTES, type InviteRequestDeps } from '@/app/_workspaces/invite-request';
import { createPool } from '@/lib/sql';
import { dispatchNow } from '@/lib/outbox';
import { toOutboxRow } from '@/tests/helpers/outbox-rows';
import { EMAIL_PRIORITY } from '@/workers/jobs/email/email-priorities';
import { sendInviteEmail } from '@/workers/jobs/email/send-invite-email.contract';
import { adminRequest, basicAuth } from '@/tests/helpers/admin-request';
import { quietLog, startTestStack, waitFor, type TestStack } from '@/tests/helpers/test-stack';
import { startValkeyProcess, type ValkeyProcess } from '@/tests/helpers/valkey-process';

// The server action reads the admin session through next/headers, which only works inside a Next
// request, and takes its dependencies from the web runtime; both stand in for this file's stack.
const fakes = vi.hoisted(() => ({ cookie: undefined as string | undefined, runtime: undefined as unknown }));
vi.mock('next/headers', () => ({
  cookies: async () => ({
    get: (name: string) => (name === 'signup_admin' && fakes.cookie ? { name, value: fakes.cookie } : undefined),
  }),
  headers: async () => new Headers({ host: 'app.test' }),
}));
vi.mock('@/app/_web/web-runtime', () => ({ webRuntime: () => fakes.runtime as WebRuntime }));

let stack: TestStack;
let deps: InviteRequestDeps;
let rightAuth: string;
/** A live admin session's cookie, as the login form sets it. */
let adminCookie: { value: string; session: AdminSession } | undefined;

/** This file's workspaces all start with it. */
const RUN = `invites-${randomUUID().slice(0, 8)}-`;

/** A workspace no other test uses, so counts by workspace belong to one test. */
const newWorkspace = () => `${RUN}${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  stack = await startTestStack();
  deps = { pool: stack.pool, queues: stack.queues, log: quietLog, admin: stack.config.admin };
  rightAuth = basicAuth(stack.config.admin.user, stack.config.admin.password ?? '');
  adminCookie = await openSession(stack.config.admin, adminSessions());
});
afterAll(async () => {
  // Thousands of rows, some perhaps still pending when Valkey was slow: another file's relay must
  // not find them in the shared database.
  await stack.db.outboxMessage.deleteMany({ where: { tenant: { startsWith: RUN } } });
  await stack.db.invitation.deleteMany({ where: { workspace: { startsWith: RUN } } });
  if (adminCookie) await adminSessions().remove(adminCookie.session);
  await stack.close();
});

const addresses = (workspace: string, count: number) =>
  Array.from({ length: count }, (_, index) => `member-${index}@${workspace}.example.test`);

function invite(
  slug: string,
  body: unknown,
  { auth, through = deps }: { auth?: string | null; through?: InviteRequestDeps } = {},
): Promise<Response> {
  return handleInviteRequest(adminRequest('POST', `/api/workspaces/${slug}/invites`, { rightAuth, auth, body }), slug, through);
}

/** A request the admin's browser would send: the session cookie, and an Origin. */
function browserRequest(slug: string, body: unknown, origin: string): Request {
  const cookie = adminCookie?.value ?? '';
  return new Request(`http://app.test/api/workspaces/${slug}/invites`, {
    method: 'POST',
    headers: { host: 'app.test', origin, 'content-type': 'application/json', cookie: `${SESSION_COOKIE}=${cookie}` },
    body: JSON.stringify(body),
  });
}

async function saved(workspace: string) {
  const [invitations, outbox] = await Promise.all([
    stack.db.invitation.findMany({ where: { workspace }, orderBy: { email: 'asc' } }),
    stack.db.outboxMessage.findMany({ where: { tenant: workspace }, orderBy: { id: 'asc' } }),
  ]);
  return { invitations, outbox };
}

interface Refusal {
  errors: Record<string, string>;
  invalid: Array<{ index: number; email: string; reason: string }>;
  invalidCount: number;
}

describe('POST /api/workspaces/<slug>/invites', () => {
  describe('with a list of new addresses', () => {
    it('answers 202 with the count, and saves one invitation and one paced outbox row per address', async () => {
      const workspace = newWorkspace();
      const response = await invite(workspace, { emails: ['  Ada@Example.test ', 'grace@example.test', 'linus@example.test'] });

      expect(response.status).toBe(202);
      expect(await response.json()).toEqual({ count: 3, alreadyInvited: 0 });

      const { invitations, outbox } = await saved(workspace);
      // Trimmed and lower-cased like a signup's email.
      expect(invitations.map((row) => row.email)).toEqual(['ada@example.test', 'grace@example.test', 'linus@example.test']);
      expect(outbox).toHaveLength(3);
      for (const row of outbox) {
        expect(row).toMatchObject({ queue: 'email', jobName: sendInviteEmail.name, tenant: workspace });
        expect(row.dispatchedAt).not.toBeNull();
      }
      // Payloads carry the invitation's id, never the address.
      expect(outbox.map((row) => row.payload).sort(byId)).toEqual(invitations.map((row) => ({ invitationId: row.id })).sort(byId));
    });

    it('puts each invitation email in the email queue, delayed or prioritized, at the invitation priority', async () => {
      const workspace = newWorkspace();
      expect((await invite(workspace, { emails: addresses(workspace, 5) })).status).toBe(202);

      const { invitations } = await saved(workspace);
      for (const invitation of invitations) {
        const job = await stack.queues.email.getJob(sendInviteEmail.jobId({ invitationId: invitation.id }));
        expect(job?.name).toBe(sendInviteEmail.name);
        // The workspace travels with the job: the worker's per-tenant limits read it (lib/tenant-limits.ts).
        expect(job?.data).toEqual({ invitationId: invitation.id, tenant: workspace });
        expect(job?.opts.priority).toBe(EMAIL_PRIORITY.invitation);
        expect(['delayed', 'prioritized']).toContain(await job?.getState());
      }
    });
  });

  describe('when some addresses were invited before', () => {
    it('skips them: the same list again invites nobody and adds no rows', async () => {
      const workspace = newWorkspace();
      const emails = addresses(workspace, 4);
      expect(await (await invite(workspace, { emails })).json()).toEqual({ count: 4, alreadyInvited: 0 });
      const before = await saved(workspace);

      // In another case, as a retry from another system might send them.
      const again = await invite(workspace, { emails: emails.map((email) => email.toUpperCase()) });
      expect(again.status).toBe(202);
      expect(await again.json()).toEqual({ count: 0, alreadyInvited: 4 });
      expect(await saved(workspace)).toEqual(before);
    });

    it('invites only the new ones of an overlapping list, each with one job', async () => {
      const workspace = newWorkspace();
      await invite(workspace, { emails: addresses(workspace, 3) });

      const response = await invite(workspace, { emails: addresses(workspace, 5) });
      expect(await response.json()).toEqual({ count: 2, alreadyInvited: 3 });
      const { invitations, outbox } = await saved(workspace);
      expect(invitations).toHaveLength(5);
      expect(outbox).toHaveLength(5);
    });

    it('treats the same address in another workspace as new', async () => {
      const first = newWorkspace();
      const second = newWorkspace();
      await invite(first, { emails: ['shared@example.test'] });
      expect(await (await invite(second, { emails: ['shared@example.test'] })).json()).toEqual({ count: 1, alreadyInvited: 0 });
    });
  });

  describe('with bad addresses', () => {
    it('refuses the whole list when one address is invalid, naming it, and saves nothing', async () => {
      const workspace = newWorkspace();
      const response = await invite(workspace, { emails: ['ada@example.test', 'not-an-email', 'grace@example.test'] });

      expect(response.status).toBe(400);
      const body = (await response.json()) as Refusal;
      expect(body.errors.emails).toMatch(/1 address is invalid or repeated, of 3; nobody was invited/);
      expect(body.invalid).toEqual([{ index: 1, email: 'not-an-email', reason: 'Enter a valid email address.' }]);
      expect(body.invalidCount).toBe(1);
      expect(await saved(workspace)).toEqual({ invitations: [], outbox: [] });
    });

    it('refuses an address repeated within the list, in any case', async () => {
      const workspace = newWorkspace();
      const response = await invite(workspace, { emails: ['ada@example.test', 'grace@example.test', ' ADA@example.test'] });

      expect(response.status).toBe(400);
      expect(((await response.json()) as Refusal).invalid).toEqual([{ index: 2, email: ' ADA@example.test', reason: REPEATED_ENTRY }]);
      expect(await saved(workspace)).toEqual({ invitations: [], outbox: [] });
    });

    it('refuses entries that are not text, too long or blank', async () => {
      const workspace = newWorkspace();
      const tooLong = `${'a'.repeat(250)}@example.test`;
      const response = await invite(workspace, { emails: [42, tooLong, '  ', 'ok@example.test'] });

      expect(response.status).toBe(400);
      expect(((await response.json()) as Refusal).invalid).toEqual([
        { index: 0, email: '42', reason: 'Each address must be text.' },
        { index: 1, email: tooLong, reason: 'Email must be at most 254 characters.' },
        { index: 2, email: '  ', reason: 'Email is required.' },
      ]);
      expect(await saved(workspace)).toEqual({ invitations: [], outbox: [] });
    });

    it(`lists at most ${MAX_LISTED_OFFENDERS} offending entries and says how many there are`, async () => {
      const workspace = newWorkspace();
      const emails = [...addresses(workspace, 10), ...Array.from({ length: 150 }, (_, index) => `broken-${index}`)];
      const body = (await (await invite(workspace, { emails })).json()) as Refusal;

      expect(body.invalidCount).toBe(150);
      expect(body.invalid).toHaveLength(MAX_LISTED_OFFENDERS);
      expect(body.invalid[0]).toMatchObject({ index: 10, email: 'broken-0' });
      expect(body.errors.emails).toMatch(/150 addresses are invalid or repeated, of 160.*first 100 are listed/);
    });
  });

  describe('with a list of the wrong size or shape', () => {
    const cases: Array<[string, string, unknown]> = [
      [`${MAX_INVITES + 1} addresses`, 'emails', { emails: Array.from({ length: MAX_INVITES + 1 }, (_, index) => `m${index}@example.test`) }],
      ['an empty list', 'emails', { emails: [] }],
      ['no list', 'emails', {}],
      ['a single address instead of a list', 'emails', { emails: 'ada@example.test' }],
      ['a JSON array for a body', 'body', ['ada@example.test']],
      ['JSON null', 'body', null],
    ];

    it.each(cases)('refuses %s with 400 naming %s, and saves nothing', async (_label, field, payload) => {
      const workspace = newWorkspace();
      const response = await invite(workspace, payload);
      expect(response.status).toBe(400);
      expect(((await response.json()) as Refusal).errors[field]).toMatch(/\w/);
      expect(await saved(workspace)).toEqual({ invitations: [], outbox: [] });
    });

    it('says the limit when the list is too long', async () => {
      const emails = Array.from({ length: MAX_INVITES + 1 }, (_, index) => `m${index}@example.test`);
      const body = (await (await invite(newWorkspace(), { emails })).json()) as Refusal;
      expect(body.errors.emails).toBe('At most 10,000 addresses per request; this list has 10,001.');
    });
  });

  describe('with a bad workspace slug', () => {
    it.each(['-acme', 'acme_inc', 'a'.repeat(49)])('refuses %s with 400 on the workspace, and saves nothing', async (slug) => {
      const response = await invite(slug, { emails: ['ada@example.test'] });
      expect(response.status).toBe(400);
      expect(((await response.json()) as Refusal).errors).toEqual({
        workspace: 'Workspace must be 1–48 letters, digits or hyphens, not starting or ending with a hyphen.',
      });
      expect(await stack.db.invitation.count({ where: { email: 'ada@example.test', workspace: slug } })).toBe(0);
    });

    it('reports a bad slug and bad addresses together', async () => {
      const body = (await (await invite('-acme', { emails: ['nope'] })).json()) as Refusal;
      expect(Object.keys(body.errors).sort()).toEqual(['emails', 'workspace']);
    });
  });

  describe('with a body that is not a JSON list', () => {
    it('refuses a body that is not JSON with 415', async () => {
      const workspace = newWorkspace();
      const request = new Request(`http://app.test/api/workspaces/${workspace}/invites`, {
        method: 'POST',
        headers: { authorization: rightAuth, 'content-type': 'text/plain' },
        body: 'ada@example.test',
      });
      expect((await handleInviteRequest(request, workspace, deps)).status).toBe(415);
      expect(await saved(workspace)).toEqual({ invitations: [], outbox: [] });
    });

    it('refuses broken JSON with 400', async () => {
      const response = await invite(newWorkspace(), '{"emails": ["ada@example.test",');
      expect(response.status).toBe(400);
      expect(((await response.json()) as Refusal).errors.body).toBe('The body is not valid JSON.');
    });

    it('refuses a body over 1 MiB with 413, even without a Content-Length', async () => {
      const workspace = newWorkspace();
      const body = JSON.stringify({ emails: addresses(workspace, 1), padding: 'x'.repeat(MAX_INVITE_BODY_BYTES) });
      const request = new Request(`http://app.test/api/workspaces/${workspace}/invites`, {
        method: 'POST',
        headers: { authorization: rightAuth, 'content-type': 'application/json' },
        body: new Blob([body]).stream(),
        duplex: 'half',
      } as RequestInit);
      expect(request.headers.get('content-length')).toBeNull();
      expect((await handleInviteRequest(request, workspace, deps)).status).toBe(413);
      expect(await saved(workspace)).toEqual({ invitations: [], outbox: [] });
    });

    it('refuses a declared Content-Length over 1 MiB with 413 before reading', async () => {
      const workspace = newWorkspace();
      const request = new Request(`http://app.test/api/workspaces/${workspace}/invites`, {
        method: 'POST',
        headers: { authorization: rightAuth, 'content-type': 'application/json', 'content-length': String(MAX_INVITE_BODY_BYTES + 1) },
        body: JSON.stringify({ emails: addresses(workspace, 1) }),
      });
      expect((await handleInviteRequest(request, workspace, deps)).status).toBe(413);
    });

    it('takes 10,000 realistic addresses well inside the 1 MiB limit', () => {
      const realistic = Array.from({ length: MAX_INVITES }, (_, index) => `firstname.lastname${index}@company-name.example`);
      expect(Buffer.byteLength(JSON.stringify({ emails: realistic }))).toBeLessThan(MAX_INVITE_BODY_BYTES / 2);
    });
  });

  describe('without the admin', () => {
    it('answers 401 with a Basic challenge to a request without credentials, and saves nothing', async () => {
      const workspace = newWorkspace();
      const response = await invite(workspace, { emails: ['ada@example.test'] }, { auth: null });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Basic/);
      expect(await saved(workspace)).toEqual({ invitations: [], outbox: [] });
    });

    it('answers 401 to wrong credentials, and saves nothing', async () => {
      const workspace = newWorkspace();
      const response = await invite(workspace, { emails: ['ada@example.test'] }, { auth: basicAuth('admin', 'guess') });
      expect(response.status).toBe(401);
      expect(await saved(workspace)).toEqual({ invitations: [], outbox: [] });
    });

    it("takes the admin's session cookie from this site, and refuses it from another with 403", async () => {
      const foreign = newWorkspace();
      const crossSite = await handleInviteRequest(browserRequest(foreign, { emails: ['ada@example.test'] }, 'https://evil.example'), foreign, deps);
      expect(crossSite.status).toBe(403);
      expect(await saved(foreign)).toEqual({ invitations: [], outbox: [] });

      const own = newWorkspace();
      const sameSite = await handleInviteRequest(browserRequest(own, { emails: ['ada@example.test'] }, 'http://app.test'), own, deps);
      expect(sameSite.status).toBe(202);
    });
  });

  describe('when the database is unavailable', () => {
    it('answers 503 with Retry-After at once when it refuses connections', async () => {
      const pool = createPool('postgresql://postgres:postgres@127.0.0.1:1/signup');
      const started = Date.now();
      try {
        const response = await invite(newWorkspace(), { emails: ['ada@example.test'] }, { through: { ...deps, pool } });
        expect(response.status).toBe(503);
        expect(response.headers.get('retry-after')).toBe('5');
        expect(Date.now() - started).toBeLessThan(2_000);
      } finally {
        await pool.end();
      }
    });

    it('answers 503 within 2 s when it accepts but never answers, not after the whole save budget', async () => {
      const hole = await blackHole();
      const pool = createPool(hole.url);
      const started = Date.now();
      try {
        const response = await invite(newWorkspace(), { emails: ['ada@example.test'] }, { through: { ...deps, pool } });
        expect(response.status).toBe(503);
        expect(Date.now() - started).toBeLessThan(2_000);
      } finally {
        await pool.end();
        await hole.close();
      }
    });
  });

  describe(`with the most a request may carry, ${MAX_INVITES.toLocaleString('en-US')} addresses`, () => {
    it('saves every invitation with its outbox row inside the save budget', async () => {
      const workspace = newWorkspace();
      const response = await invite(workspace, { emails: addresses(workspace, MAX_INVITES) });
      expect(response.status).toBe(202);
      expect(await response.json()).toEqual({ count: MAX_INVITES, alreadyInvited: 0 });
      expect(await stack.db.invitation.count({ where: { workspace } })).toBe(MAX_INVITES);
      expect(await stack.db.outboxMessage.count({ where: { tenant: workspace } })).toBe(MAX_INVITES);
    });
  });

  describe('with 5,000 addresses from one workspace (the fairness scenario)', () => {
    it('saves and queues all of them, and another workspace invited afterwards is not queued behind them', async () => {
      const busy = newWorkspace();
      const before = await stack.queues.email.getJobCounts('delayed', 'prioritized', 'waiting');

      const response = await invite(busy, { emails: addresses(busy, 5_000) });
      expect(response.status).toBe(202);
      expect(await response.json()).toEqual({ count: 5_000, alreadyInvited: 0 });
      const { invitations, outbox } = await saved(busy);
      expect(invitations).toHaveLength(5_000);
      expect(outbox).toHaveLength(5_000);
      // On a busy machine the request's dispatch budget can run out first; what it left is the
      // relay's, dispatched here as the relay would (same job ids and clock, so nothing is added twice).
      const left = outbox.filter((row) => row.dispatchedAt === null).map(toOutboxRow);
      for (let start = 0; start < left.length; start += 500) {
        const batch = left.slice(start, start + 500);
        await waitFor(() => dispatchNow(stack.pool, stack.dispatch, batch), { what: "the relay's dispatch" });
      }
      const after = await stack.queues.email.getJobCounts('delayed', 'prioritized', 'waiting');
      expect(total(after) - total(before)).toBe(5_000);

      const quiet = newWorkspace();
      expect((await invite(quiet, { emails: ['solo@example.test'] })).status).toBe(202);
      const [solo] = (await saved(quiet)).invitations;
      const lastOfBusy = outbox.at(-1)?.jobId ?? '';
      const soloJob = await stack.queues.email.getJob(sendInviteEmail.jobId({ invitationId: solo?.id ?? '' }));
      const busyJob = await stack.queues.email.getJob(lastOfBusy);
      const dueAt = (job: typeof soloJob) => (job ? job.timestamp + job.delay : Number.NaN);
      // The busy workspace's list is spread over a minute; the quiet one's invitation is due now.
      expect(dueAt(busyJob) - Date.now()).toBeGreaterThan(30_000);
      expect(dueAt(soloJob)).toBeLessThan(dueAt(busyJob) - 30_000);
    });
  });
});

describe('when Valkey is down', () => {
  let valkey: ValkeyProcess;
  let outage: TestStack;
  let outageDeps: InviteRequestDeps;

  beforeAll(async () => {
    valkey = await startValkeyProcess();
    outage = await startTestStack({ VALKEY_URL: valkey.url });
    outageDeps = { pool: outage.pool, queues: outage.queues, log: quietLog, admin: outage.config.admin };
  });
  afterAll(async () => {
    await valkey.start().catch(() => undefined);
    await outage.close();
    await valkey.stop();
  });

  it('still answers 202, and the rows wait in the outbox until they can be dispatched', async () => {
    const workspace = newWorkspace();
    await valkey.stop();
    const started = Date.now();
    const response = await invite(workspace, { emails: addresses(workspace, 3) }, { through: outageDeps });
    expect(response.status).toBe(202);
    // One failed dispatch attempt (500 ms), not one per batch or a hang.
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(await response.json()).toEqual({ count: 3, alreadyInvited: 0 });

    const pending = await stack.db.outboxMessage.findMany({ where: { tenant: workspace } });
    expect(pending).toHaveLength(3);
    expect(pending.every((row) => row.dispatchedAt === null)).toBe(true);

    // What the relay does with them once Valkey is back.
    await valkey.start();
    await waitFor(() => outage.producer.status === 'ready', { what: 'producer reconnect' });
    const rows = pending.map(toOutboxRow);
    // As the relay would, again until it succeeds: the first command after a reconnect may still
    // miss the producer's 500 ms timeout on a busy machine, and a repeated dispatch adds nothing.
    await waitFor(() => dispatchNow(outage.pool, outage.dispatch, rows), { what: 'a dispatch once Valkey is back', timeoutMs: 25_000 });
    for (const row of rows) expect((await outage.queues.email.getJob(row.jobId))?.name).toBe(sendInviteEmail.name);
  }, 40_000);
});

describe('the admin invite form (server action)', () => {
  const INITIAL: InviteFormState = { values: { workspace: '', emails: '' }, errors: {}, invalid: [], invalidCount: 0 };

  beforeEach(() => {
    fakes.runtime = { pool: stack.pool, queues: stack.queues, log: quietLog };
    fakes.cookie = adminCookie?.value;
  });

  function form(fields: Record<string, string>): FormData {
    const data = new FormData();
    for (const [name, value] of Object.entries(fields)) data.set(name, value);
    return data;
  }

  it('invites a pasted list, one per line or comma-separated, and says how many', async () => {
    const workspace = newWorkspace();
    const pasted = 'ada@example.test\nGrace@example.test, linus@example.test\n\n';
    const state = await inviteMembersAction(INITIAL, form({ workspace: ` ${workspace.toUpperCase()} `, emails: pasted }));

    expect(state.message).toBe(`Invited 3 (0 already invited) to ${workspace}.`);
    expect(state.values).toEqual({ workspace, emails: '' });
    expect((await saved(workspace)).outbox).toHaveLength(3);

    const again = await inviteMembersAction(state, form({ workspace, emails: 'ada@example.test\nmargaret@example.test' }));
    expect(again.message).toMatch(/^Invited 1 \(1 already invited\)/);
  });

  it('shows field errors and the offending entries, keeps what was typed, and saves nothing', async () => {
    const workspace = newWorkspace();
    const emails = 'ada@example.test\nnot-an-email\nADA@example.test';
    const state = await inviteMembersAction(INITIAL, form({ workspace, emails }));

    expect(state.message).toBeUndefined();
    expect(state.errors.emails).toMatch(/2 addresses are invalid or repeated, of 3/);
    expect(state.invalid).toEqual([
      { index: 1, email: 'not-an-email', reason: 'Enter a valid email address.' },
      { index: 2, email: 'ADA@example.test', reason: REPEATED_ENTRY },
    ]);
    expect(state.values).toEqual({ workspace, emails });
    expect(await saved(workspace)).toEqual({ invitations: [], outbox: [] });

    const noWorkspace = await inviteMembersAction(INITIAL, form({ workspace: '', emails: 'ada@example.test' }));
    expect(noWorkspace.errors.workspace).toMatch(/Workspace must be/);
  });

  it('sends a caller without an admin session to the login page, and saves nothing', async () => {
    fakes.cookie = undefined;
    const workspace = newWorkspace();
    const refusal = await inviteMembersAction(INITIAL, form({ workspace, emails: 'ada@example.test' })).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(String((refusal as { digest?: unknown } | undefined)?.digest)).toMatch(/^NEXT_REDIRECT;.*\/admin\/login\?next=%2Fadmin%2Finvites/);
    expect(await saved(workspace)).toEqual({ invitations: [], outbox: [] });
  });
});

function byId(a: unknown, b: unknown): number {
  return String((a as { invitationId: string }).invitationId).localeCompare(String((b as { invitationId: string }).invitationId));
}

function total(counts: Record<string, number | undefined>): number {
  return Object.values(counts).reduce<number>((sum, value) => sum + (value ?? 0), 0);
}

/** A TCP server that accepts connections and never says a word: a database that hangs. */
async function blackHole(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => sockets.add(socket)).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    url: `postgresql://postgres:postgres@127.0.0.1:${address.port}/signup`,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

