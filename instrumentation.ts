// Runs once when a Next.js server starts (Next's instrumentation hook). A production server without
// ADMIN_PASSWORD would have an admin area nobody can open: it refuses to start instead. `npm start`
// generates a password when none is set, so the local demo still starts. It also starts tracing
// when OTEL_EXPORTER_OTLP_ENDPOINT is set (lib/tracing.ts); Next's own request spans then join it.
export async function register(): Promise<void> {
  // Next's runtime selector, inlined at build time, not configuration; lib/config.ts and
  // process.exit exist only in the Node.js runtime.
  // eslint-disable-next-line no-restricted-properties
  if (process.env.NEXT_RUNTIME === 'nodejs') {
    const { config } = await import('@/lib/config');
    const settings = config();
    if (settings.nodeEnv === 'production' && !settings.admin.password) {
      console.error(
        'Refusing to start: ADMIN_PASSWORD is not set. The admin area (/admin, /api/admin) needs it in production; ' +
          'set ADMIN_PASSWORD (and ADMIN_USER, default "admin") and start again.',
      );
      // Exit rather than throw: Next 16 logs a throwing register() but keeps listening, and then
      // answers every request with 500.
      process.exit(1);
    }
    const { startTracing } = await import('@/lib/tracing');
    await startTracing('signup-web', settings.otlpEndpoint);
  }
}
