// What the admin routes need from this process, on top of the web runtime.
import 'server-only';
import type { DeadLetterDeps } from '@/app/_admin/dead-letters/dead-letter-requests';
import { webRuntime } from '@/app/_web/web-runtime';
import { config } from '@/lib/config';

export function deadLetterDeps(): DeadLetterDeps {
  const { db, queues } = webRuntime();
  return { db, queues, admin: config().admin, replayPerSecond: config().replayPerSecond };
}
