// Runs once when a Next.js server starts (Next's instrumentation hook). A production server without
// ADMIN_PASSWORD would have an admin area nobody can open, and one with a short password an admin
// area anyone patient can: it refuses to start instead (adminPasswordProblem, lib/config.ts).
// `npm start` generates a password when none is set, so the local demo still starts. It also starts
// tracing when OTEL_EXPORTER_OTLP_ENDPOINT is set (lib/tracing.ts); Next's own request spans then
// join it.
export async function register(): Promise<void> {
  // Next's runtime selector, inlined at build time, not configuration; lib/config.ts and
  // process.exit exist only in the Node.js runtime.
  // eslint-disable-next-line no-restricted-properties
  if (process.env.NEXT_RUNTIME === 'nodejs') {
    const { adminPasswordProblem, config } = await import('@/lib/config');
    const settings = config();
    const problem = adminPasswordProblem(settings.admin.password);
    if (settings.nodeEnv === 'production' && problem) {
      console.error(`Refusing to start: ${problem}`);
      // Exit rather than throw: Next 16 logs a throwing register() but keeps listening, and then
      // answers every request with 500.
      process.exit(1);
    }
    const { startTracing } = await import('@/lib/tracing');
    await startTracing('signup-web', settings.otlpEndpoint);
  }
}
