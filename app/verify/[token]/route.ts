// /verify/<token>: the link in every email (app/_signup/email-link.ts). GET shows a page and
// changes nothing, so a mail scanner that opens the link confirms nobody; its button POSTs back
// here, which confirms the address, consumes the account's email links and lands on a fresh
// status page. A used or expired link gets a page that can mail a new one. The pages are plain
// HTML forms: they work without JavaScript.
import { emailLinkState, useEmailLink } from '@/app/_signup/email-link';
import { refusalMessage, resendVerification } from '@/app/_signup/resend-verification';
import { webRuntime } from '@/app/_web/web-runtime';
import { statusPath } from '@/lib/access-tokens';
import { readCappedText } from '@/lib/capped-body';
import { clientAddress } from '@/lib/client-address';
import { errorSummary } from '@/lib/log';

export const dynamic = 'force-dynamic';

/** The form's one field, `intent`, is a few bytes; anything larger is not our form. */
const FORM_LIMIT_BYTES = 1_024;

export async function GET(_request: Request, { params }: { params: Promise<{ token: string }> }): Promise<Response> {
  const { token } = await params;
  const { pool, log } = webRuntime();
  let link;
  try {
    link = await emailLinkState(pool, token);
  } catch (error) {
    log.warn('email link unavailable', { error: errorSummary(error) });
    return unavailable();
  }
  switch (link.state) {
    case 'unknown':
      return notValid();
    case 'expired':
    case 'used':
      return stale(link.state);
    case 'live':
      return link.verified
        ? htmlPage(200, 'Open your account', 'Press the button to open your account page.', button('confirm', 'Open my account page'))
        : htmlPage(200, 'Confirm your email address', 'Press the button to confirm that this address is yours.', button('confirm', 'Confirm my email address'));
  }
}

export async function POST(request: Request, { params }: { params: Promise<{ token: string }> }): Promise<Response> {
  const { token } = await params;
  const runtime = webRuntime();
  const body = await readCappedText(request, FORM_LIMIT_BYTES);
  if (body.kind !== 'read') return htmlPage(400, 'That did not work', 'Please press the button on the page again.');
  const intent = new URLSearchParams(body.text).get('intent');

  try {
    if (intent === 'confirm') {
      const outcome = await useEmailLink(runtime.pool, token);
      if (outcome.status === 'refused') return outcome.link.state === 'unknown' ? notValid() : stale(outcome.link.state);
      runtime.log.info('email link used', { user: outcome.userId });
      // Relative: inside Next, request.url names the server's own address, not the one the user typed.
      return new Response(null, {
        status: 303,
        headers: { location: `${statusPath(outcome.statusToken)}?verified=1`, 'cache-control': 'no-store' },
      });
    }
    if (intent === 'new-link') {
      const asker = { budgets: runtime.budgets, client: clientAddress(request.headers) };
      const outcome = await resendVerification(token, { ...runtime, asker }, 'verify');
      switch (outcome.status) {
        case 'sent':
          runtime.log.info('new email link requested', { user: outcome.userId, dispatched: outcome.dispatched });
          return htmlPage(202, 'A new link is on its way', 'Check the inbox of the address you signed up with. It can take a minute to arrive.');
        case 'unknown-token':
          return notValid();
        case 'unavailable':
          throw outcome.error;
        default:
          return htmlPage(429, 'Not just now', refusalMessage(outcome));
      }
    }
  } catch (error) {
    runtime.log.warn('email link unavailable', { error: errorSummary(error) });
    return unavailable();
  }
  return htmlPage(400, 'That did not work', 'Please press the button on the page again.');
}

function notValid(): Response {
  return htmlPage(404, 'This link is not valid', 'It may have been mistyped or cut short. Copy the whole link from your email.');
}

function stale(state: 'expired' | 'used'): Response {
  const why = state === 'used' ? 'This link has been used already' : 'This link has expired';
  return htmlPage(
    410,
    why,
    'Each link in our emails works once, for 48 hours. We can email a new one to the address you signed up with.',
    button('new-link', 'Email me a new link'),
  );
}

function unavailable(): Response {
  return htmlPage(503, 'Please try again in a moment', 'We could not open this link just now. It stays valid.');
}

/** A form that posts back to this same URL, so the token never appears in the page's markup. */
function button(intent: 'confirm' | 'new-link', label: string): string {
  return `<form method="post"><input type="hidden" name="intent" value="${intent}"><button type="submit">${label}</button></form>`;
}

/** A route handler renders no layout, so its pages carry their own minimal markup. */
function htmlPage(status: number, title: string, message: string, form = ''): Response {
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
  button { font: inherit; padding: .6rem 1.2rem; border: 0; border-radius: 6px; background: #2f5bd3; color: #fff; cursor: pointer; }
</style>
</head>
<body>
<main>
<h1>${title}</h1>
<p>${message}</p>
${form}
<p><a href="/">Go to the signup page</a></p>
</main>
</body>
</html>`;
  return new Response(html, {
    status,
    headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' },
  });
}
