// GET /api/metrics: Prometheus text format. With METRICS_TOKEN set it answers only
// `Authorization: Bearer <token>`; without it, anyone, so it must then stay off public routes.
import { webRuntime } from '@/app/_web/web-runtime';
import { config } from '@/lib/config';
import { metrics } from '@/lib/metrics';
import { handleMetricsRequest } from '@/lib/metrics-scrape';
import { ALL_JOBS } from '@/workers/jobs/job-contracts';

export const dynamic = 'force-dynamic';

export function GET(request: Request): Promise<Response> {
  const settings = config();
  const { queues, valkey, pool, log } = webRuntime();
  return handleMetricsRequest(request, {
    metrics: metrics(),
    token: settings.metrics.token,
    queueState: { queues, valkey, keyPrefix: settings.queuePrefix, log },
    outboxState: { db: pool, log },
    jobs: ALL_JOBS,
  });
}
