// The circuit breaker guarding a queue's provider, shared through Valkey with every other worker
// process (lib/circuit-breaker.ts), seen through this process's batched view (batched-breaker.ts),
// with its state changes logged and counted.
import type { Valkey } from '@/lib/valkey';
import type { Config } from '@/lib/config';
import type { Logger } from '@/lib/log';
import { metrics } from '@/lib/metrics';
import { CircuitBreaker } from '@/lib/circuit-breaker';
import { QUEUE_PROVIDERS, type QueueName } from '@/lib/queues';
import { BatchedBreaker } from '@/workers/resilience/batched-breaker';

/** The breaker of the provider this queue's jobs call, shared with every other worker process. */
export function providerBreaker(queue: QueueName, config: Config, connection: Valkey, log: Logger): BatchedBreaker {
  const provider = QUEUE_PROVIDERS[queue];
  const shared = new CircuitBreaker({
    redis: connection,
    provider,
    keyPrefix: config.queuePrefix,
    onTransition: (from, to, snapshot) => {
      metrics().breakerTransitions.inc({ provider, from, to });
      log.warn('circuit breaker changed state', {
        provider,
        from,
        to,
        callsInWindow: snapshot.callsInWindow,
        failuresInWindow: snapshot.failuresInWindow,
      });
    },
  });
  return new BatchedBreaker(shared);
}
