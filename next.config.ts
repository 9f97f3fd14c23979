import type { NextConfig } from 'next';

// `npm run web` is `next start` over .next/. The standalone output for the container image comes
// with the Dockerfile, together with a test that starts it from a copy outside the repo (files
// such as BullMQ's Lua scripts must be traced into it).
const nextConfig: NextConfig = {
  poweredByHeader: false,
  // Loaded by Node at run time rather than bundled: native code (sharp), and BullMQ, whose Lua
  // scripts are read from its package directory.
  serverExternalPackages: ['sharp', 'bullmq', 'ioredis', 'pg', 'nodemailer'],
  typedRoutes: false,
};

export default nextConfig;
