// /admin: queue health. The first report is read here so the page arrives filled in; the client
// then refreshes it from GET /api/admin/queues (health-dashboard.tsx).
import type { Metadata } from 'next';
import { requireAdminPage } from '@/app/_admin/auth/admin-auth';
import { webRuntime } from '@/app/_web/web-runtime';
import { queueHealth, type QueueHealthReport } from '@/app/_admin/queue-health/queue-health';
import { HealthDashboard } from './health-dashboard';

export const dynamic = 'force-dynamic';

export const metadata: Metadata = { title: 'Queue health' };

export default async function AdminHealthPage() {
  await requireAdminPage('/admin');
  return <HealthDashboard initialReport={await firstReport()} />;
}

/** The report, or nothing when the database cannot answer: the page still renders and keeps asking. */
async function firstReport(): Promise<QueueHealthReport | undefined> {
  const deps = webRuntime();
  try {
    return await queueHealth(deps);
  } catch (error) {
    deps.log.warn('first health report failed; the page will poll', { error: String(error) });
    return undefined;
  }
}
