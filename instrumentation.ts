// Runs once when a Next.js server starts (Next's instrumentation hook). A production server without
// ADMIN_PASSWORD would have an admin area nobody can open, and one with a short password an admin
// area anyone patient can; without a SESSION_SECRET of 32 characters its session cookies would
// have no key, or a guessable one. It refuses to start instead (webStartProblem, lib/config.ts).
// `npm start` generates both when unset, so the local demo still starts. It stamps each request
// with its client's address, taken from the socket (lib/client-address.ts). It also starts tracing
// when OTEL_EXPORTER_OTLP_ENDPOINT is set (lib/tracing.ts); Next's own request spans then join it.
export async function register(): Promise<void> {
  // Next's runtime selector, inlined at build time, not configuration; lib/config.ts and
  // process.exit exist only in the Node.js runtime.
  // eslint-disable-next-line no-restricted-properties
  if (process.env.NEXT_RUNTIME === 'nodejs') {
    const { config, ConfigError, webStartProblem } = await import('@/lib/config');
    let settings;
    try {
      settings = config();
    } catch (error) {
      // An invalid variable, or a *_FILE secret that cannot be read.
      if (!(error instanceof ConfigError)) throw error;
      refuseToStart(error.message);
    }
    const problem = webStartProblem(settings);
    if (problem) refuseToStart(problem);
    // First of the rest: requests that arrive before it share one budget (UNSTAMPED_CLIENT).
    const { installClientAddressStamp } = await import('@/lib/client-address');
    installClientAddressStamp(settings.trustedProxyHops);
    const { startTracing } = await import('@/lib/tracing');
    await startTracing('signup-web', settings.otlpEndpoint);
  }
}

function refuseToStart(reason: string): never {
  console.error(`Refusing to start: ${reason}`);
  // Exit rather than throw: Next 16 logs a throwing register() but keeps listening, and then
  // answers every request with 500.
  process.exit(1);
}
