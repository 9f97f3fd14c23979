// POST /api/signups/sync: the synchronous baseline this project exists to argue against, kept so
// the difference can be measured (npm run bench) and shown. It saves the user, then calls the four
// providers one after another inside the request, the way such code is usually first written. Its
// latency is the sum of theirs, and when one fails the user is saved but the remaining work is
// simply not done, with nothing to retry it: the shared fate of a coupled request path.
import { insertUser, newToken, statusPath } from '@/app/_signup/create-signup';
import { readSignupRequest, unavailable, type SignupDeps } from '@/app/_signup/signup-request';
import { DUPLICATE_EMAIL_ERRORS } from '@/app/_signup/signup-input';
import { isUniqueViolation } from '@/lib/db';
import type { HandlerContext } from '@/workers/jobs/handler-context';
import { JOB_DEFINITIONS } from '@/workers/jobs/job-handlers';
import { SIGNUP_JOBS } from '@/workers/jobs/job-contracts';
import { ProviderError } from '@/workers/providers/provider-errors';

export async function handleSyncSignupRequest(
  request: Request,
  deps: Omit<SignupDeps, 'queues' | 'followUpDelayMs'> & { handlerContext: HandlerContext },
): Promise<Response> {
  const input = await readSignupRequest(request, deps);
  if (input instanceof Response) return input;

  const userId = crypto.randomUUID();
  const statusToken = newToken();
  try {
    await insertUser(deps.db, input, { userId, statusToken });
  } catch (error) {
    if (isUniqueViolation(error)) {
      return Response.json({ errors: DUPLICATE_EMAIL_ERRORS }, { status: 409 });
    }
    return unavailable(error, deps.log);
  }

  const completed: string[] = [];
  for (const contract of SIGNUP_JOBS) {
    const definition = JOB_DEFINITIONS.get(contract.name);
    if (!definition) throw new Error(`no handler for ${contract.name}`);
    try {
      await definition.handler({ userId }, deps.handlerContext);
      completed.push(contract.name);
    } catch (error) {
      if (!(error instanceof ProviderError)) throw error;
      deps.log.warn('synchronous signup failed at a provider', { user: userId, job: contract.name, error: error.message });
      return Response.json(
        {
          id: userId,
          statusUrl: statusPath(statusToken),
          error: `Your account was created, but ${contract.name} failed and will not be retried.`,
          completed,
          failed: contract.name,
        },
        { status: 502 },
      );
    }
  }
  return Response.json({ id: userId, statusUrl: statusPath(statusToken), completed }, { status: 201 });
}
