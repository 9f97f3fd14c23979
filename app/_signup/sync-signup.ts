// POST /api/signups/sync: the synchronous baseline this project exists to argue against, kept so
// the difference can be measured (npm run bench) and shown. It saves the user, then calls the four
// providers one after another inside the request (workers/jobs/sync-baseline.ts). Its latency is
// the sum of theirs, and when one fails the user is saved but the remaining work is simply not
// done, with nothing to retry it: the shared fate of a coupled request path.
import 'server-only';
import { insertUser } from '@/app/_signup/create-signup';
import { newToken, statusPath } from '@/lib/access-tokens';
import { readSignupRequest, unavailable, type SignupDeps } from '@/app/_signup/signup-request';
import { DUPLICATE_EMAIL_ERRORS } from '@/app/_signup/signup-input';
import { isUniqueViolation } from '@/lib/sql';
import type { SyncBaseline } from '@/workers/jobs/sync-baseline';

export async function handleSyncSignupRequest(
  request: Request,
  deps: Omit<SignupDeps, 'queues' | 'followUpDelayMs'> & { syncBaseline: SyncBaseline },
): Promise<Response> {
  const input = await readSignupRequest(request, deps);
  if (input instanceof Response) return input;

  const userId = crypto.randomUUID();
  const statusToken = newToken();
  try {
    await insertUser(deps.pool, input, { userId, statusToken });
  } catch (error) {
    if (isUniqueViolation(error)) {
      return Response.json({ errors: DUPLICATE_EMAIL_ERRORS }, { status: 409 });
    }
    return unavailable(error, deps.log);
  }

  const { completed, failed } = await deps.syncBaseline.runSignupJobs(userId);
  if (failed) {
    deps.log.warn('synchronous signup failed at a provider', { user: userId, job: failed.job, error: failed.error });
    return Response.json(
      {
        id: userId,
        statusUrl: statusPath(statusToken),
        error: `Your account was created, but ${failed.job} failed and will not be retried.`,
        completed,
        failed: failed.job,
      },
      { status: 502 },
    );
  }
  return Response.json({ id: userId, statusUrl: statusPath(statusToken), completed }, { status: 201 });
}
