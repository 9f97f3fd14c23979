import type { NextConfig } from 'next';
import { PHASE_DEVELOPMENT_SERVER } from 'next/constants';
import { securityHeaders } from './lib/security-headers';

// `output: 'standalone'`: the build leaves .next/standalone/server.js with only the node_modules
// files its traced server code uses, so the container image carries no build tooling. `npm run
// build` then copies .next/static in beside it (scripts/copy-standalone-assets.ts; Next leaves that
// to the deployer), and `npm run web` runs that server. scripts/standalone-smoke.ts starts a copy
// outside the repo, where a file the trace missed cannot be found in the repo's node_modules.
const nextConfig = (phase: string): NextConfig => ({
  output: 'standalone',
  poweredByHeader: false,
  // Loaded by Node at run time rather than bundled: native code and packages that load their own
  // files. The trace copies what they need: sharp with its platform's sharp.node and libvips (the
  // synchronous baseline renders avatars in the web process), and BullMQ, whose Lua scripts
  // version 6 inlines into dist/*/scripts/*.js, reached through ordinary imports.
  serverExternalPackages: ['sharp', 'bullmq', 'ioredis', 'pg', 'nodemailer'],
  outputFileTracingIncludes: {
    // bull-board's page template, scripts and styles are read from disk per request by
    // serveStatic (app/_admin/bull-board.ts); nothing imports them, so the trace cannot see them.
    '/admin/queues/**': ['./node_modules/@bull-board/ui/**'],
    // The circuit breaker's Lua script, read at start from the app's root (lib/circuit-breaker.ts):
    // every route's process reads breaker snapshots.
    '/**': ['./lib/circuit-breaker.lua'],
  },
  typedRoutes: false,
  // On every page, route and static file (lib/security-headers.ts says why each).
  async headers() {
    return [{ source: '/:path*', headers: securityHeaders({ dev: phase === PHASE_DEVELOPMENT_SERVER }) }];
  },
});

export default nextConfig;
