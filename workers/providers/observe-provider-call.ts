// Times every call to a third party and records how it ended, by the provider-errors taxonomy, in
// signup_provider_call_seconds (lib/metrics.ts).
import { metrics, type ProviderOutcome } from '@/lib/metrics';
import { ProviderError } from '@/workers/providers/provider-errors';

/** Times one provider call and records how it ended, by the provider-errors taxonomy. */
export async function observeProviderCall<T>(provider: string, call: () => Promise<T>): Promise<T> {
  const stop = metrics().providerCallSeconds.startTimer({ provider });
  try {
    const result = await call();
    stop({ outcome: 'ok' });
    return result;
  } catch (error) {
    stop({ outcome: providerOutcome(error) });
    throw error;
  }
}

function providerOutcome(error: unknown): ProviderOutcome {
  if (!(error instanceof ProviderError)) return 'transient';
  return error.kind === 'rate-limited' ? 'rate_limited' : error.kind;
}
