// The circuit breaker guarding a queue's provider, shared through Valkey with every other worker
// process (circuit-breaker.ts), with its state changes logged.
import type { Valkey } from '@/lib/valkey';
import type { Config, QueueName } from '@/lib/config';
import type { Logger } from '@/lib/log';
import { metrics } from '@/lib/metrics';
import { CircuitBreaker } from '@/lib/circuit-breaker';
import { JOB_DEFINITIONS } from '@/workers/jobs/job-handlers';

/** The breaker of the provider this queue's jobs call, shared with every other worker process. */
export function providerBreaker(queue: QueueName, config: Config, connection: Valkey, log: Logger): CircuitBreaker {
  const provider = [...JOB_DEFINITIONS.values()].find((definition) => definition.contract.queue === queue)?.contract
    .provider;
  if (!provider) throw new Error(`no job contract for queue ${queue}`);
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
