// The headers every page and route is served with (next.config.ts; docs/security.md):
//
// - Content-Security-Policy: scripts, styles, images, fonts and requests from this origin only;
//   no plugins; no <base> elsewhere; forms post here only; and no framing by anyone
//   (frame-ancestors), so no other site can overlay the signup form or the admin (clickjacking).
//   Scripts and styles keep 'unsafe-inline', since Next's server rendering and bull-board's page
//   inline theirs; nonces would make every page dynamic. `next dev` also needs 'unsafe-eval'.
// - X-Frame-Options DENY: frame-ancestors for browsers that predate it.
// - X-Content-Type-Options nosniff: a response is only ever what its Content-Type says.
// - Referrer-Policy same-origin: status and verification links carry tokens in their paths, and no
//   other site may learn them from a Referer. Not no-referrer: with it, Chromium sends `Origin: null`
//   on a form's POST, and Next then refuses the page's own server actions (the form without
//   JavaScript, the admin's forms).
// - Strict-Transport-Security: once a browser has reached the app over https, it never tries http
//   again for a year. Browsers ignore it on plain http (`npm start` on 127.0.0.1).
// - Cross-Origin-Opener-Policy same-origin, and no camera, microphone or location.

export interface Header {
  key: string;
  value: string;
}

export function securityHeaders({ dev = false }: { dev?: boolean } = {}): Header[] {
  const csp = [
    "default-src 'self'",
    `script-src 'self' 'unsafe-inline'${dev ? " 'unsafe-eval'" : ''}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    `connect-src 'self'${dev ? ' ws: wss:' : ''}`,
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
  return [
    { key: 'Content-Security-Policy', value: csp },
    { key: 'X-Frame-Options', value: 'DENY' },
    { key: 'X-Content-Type-Options', value: 'nosniff' },
    { key: 'Referrer-Policy', value: 'same-origin' },
    { key: 'Strict-Transport-Security', value: 'max-age=31536000; includeSubDomains' },
    { key: 'Cross-Origin-Opener-Policy', value: 'same-origin' },
    { key: 'Permissions-Policy', value: 'camera=(), microphone=(), geolocation=()' },
  ];
}
