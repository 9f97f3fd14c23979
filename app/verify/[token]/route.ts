// GET /verify/<token>: the link in the welcome email. Marks the address confirmed (once; clicking
// again changes nothing) and sends the user on to their status page.
import { statusPath } from '@/app/_signup/create-signup';
import { webRuntime } from '@/app/_web/web-runtime';
import { errorSummary } from '@/lib/log';

export const dynamic = 'force-dynamic';

export async function GET(_request: Request, { params }: { params: Promise<{ token: string }> }): Promise<Response> {
  const { token } = await params;
  const { db, log } = webRuntime();
  let user;
  try {
    await db.user.updateMany({
      where: { verifyToken: token, emailVerifiedAt: null },
      data: { emailVerifiedAt: new Date() },
    });
    user = await db.user.findUnique({ where: { verifyToken: token }, select: { statusToken: true } });
  } catch (error) {
    log.warn('email verification unavailable', { error: errorSummary(error) });
    return htmlPage(503, 'Please try again in a moment', 'We could not confirm your email just now. The link stays valid.');
  }
  if (!user) {
    return htmlPage(404, 'This link is not valid', 'It may have been mistyped or cut short. Copy the whole link from your welcome email.');
  }
  // Relative: inside Next, request.url names the server's own address, not the one the user typed.
  return new Response(null, {
    status: 303,
    headers: { location: `${statusPath(user.statusToken)}?verified=1`, 'cache-control': 'no-store' },
  });
}

/** A route handler renders no layout, so the few refusals it has carry their own minimal page. */
function htmlPage(status: number, title: string, message: string): Response {
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${title} · Signup Demo</title>
<style>
  body { margin: 0; font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; background: #f6f7f9; color: #1c2330; line-height: 1.55; }
  main { max-width: 32rem; margin: 4rem auto; padding: 2rem; background: #fff; border: 1px solid #dde2ea; border-radius: 10px; text-align: center; }
  h1 { font-size: 1.4rem; margin: 0 0 .5rem; }
  p { color: #5b6678; }
  a { color: #2f5bd3; }
</style>
</head>
<body>
<main>
<h1>${title}</h1>
<p>${message}</p>
<p><a href="/">Go to the signup page</a></p>
</main>
</body>
</html>`;
  return new Response(html, {
    status,
    headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' },
  });
}
