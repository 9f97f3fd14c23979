import type { NextConfig } from 'next';

const nextConfig: NextConfig = {
  output: 'standalone',
  poweredByHeader: false,
  // Loaded by Node at run time rather than bundled: native code (sharp), and BullMQ, whose Lua
  // scripts are read from its package directory.
  serverExternalPackages: ['sharp', 'bullmq', 'ioredis', 'pg', 'nodemailer'],
  typedRoutes: false,
};

export default nextConfig;
