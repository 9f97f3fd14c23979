// bull-board's page, its API and its static files (app/_admin/bull-board.ts), all behind the admin
// login: every request authenticates first, whatever it asks for.
import { authenticateAdmin } from '@/app/_admin/auth/admin-auth';
import { BULL_BOARD_PATH, bullBoard } from '@/app/_admin/bull-board';
import { config } from '@/lib/config';

export const dynamic = 'force-dynamic';
export const runtime = 'nodejs';

// Relative: behind a proxy, request.url names the internal host.
const LOGIN_PATH = `/admin/login?next=${BULL_BOARD_PATH}`;

async function handle(request: Request): Promise<Response> {
  const identity = await authenticateAdmin(request, config().admin);
  if (identity instanceof Response) {
    // A person opening the page is sent to the login form; the page's own fetches and scripts get
    // the bare 401 (a redirect to an HTML form would only confuse them). Other refusals, such as a
    // cross-site 403, stand as they are.
    if (identity.status === 401 && isPageRequest(request)) {
      return new Response(null, { status: 303, headers: { location: LOGIN_PATH } });
    }
    return identity;
  }
  return bullBoard().fetch(request);
}

/** A browser navigation: a GET that prefers HTML. Fetches and static files ask for JSON, CSS, images or `*\/*`. */
function isPageRequest(request: Request): boolean {
  return request.method === 'GET' && (request.headers.get('accept') ?? '').includes('text/html');
}

export { handle as GET, handle as POST, handle as PUT, handle as DELETE, handle as PATCH };
