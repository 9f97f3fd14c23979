// The circuit breaker guarding a queue's provider, shared through Valkey with every other worker
// process (circuit-breaker.ts), with its state changes logged.
import type { Valkey } from '@/lib/valkey';
import type { Config } from '@/lib/config';
import type { Logger } from '@/lib/log';
import { metrics } from '@/lib/metrics';
import { CircuitBreaker } from '@/lib/circuit-breaker';
import { QUEUE_PROVIDERS, type QueueName } from '@/lib/queues';

/** The breaker of the provider this queue's jobs call, shared with every other worker process. */
export function providerBreaker(queue: QueueName, config: Config, connection: Valkey, log: Logger): CircuitBreaker {
  const provider = QUEUE_PROVIDERS[queue];
  return new CircuitBreaker({
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
}
