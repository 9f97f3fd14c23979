'use client';
// The admin sections, with the current one marked. The job browser is bull-board, served by a
// route handler rather than a page, so it is a plain link that leaves the app's router.
import Link from 'next/link';
import { usePathname } from 'next/navigation';

const SECTIONS = [
  { href: '/admin', label: 'Health', matches: (path: string) => path === '/admin' },
  { href: '/admin/jobs', label: 'Pending jobs', matches: (path: string) => path.startsWith('/admin/jobs') },
  { href: '/admin/dead-letters', label: 'Dead letters', matches: (path: string) => path.startsWith('/admin/dead-letters') },
  { href: '/admin/invites', label: 'Invitations', matches: (path: string) => path.startsWith('/admin/invites') },
] as const;

export function AdminNavLinks() {
  const pathname = usePathname();
  return (
    <ul className="admin-nav-links">
      {SECTIONS.map((section) => {
        const current = section.matches(pathname);
        return (
          <li key={section.href}>
            <Link href={section.href} aria-current={current ? 'page' : undefined}>
              {section.label}
            </Link>
          </li>
        );
      })}
      <li>
        <a href="/admin/queues">Jobs</a>
      </li>
    </ul>
  );
}
