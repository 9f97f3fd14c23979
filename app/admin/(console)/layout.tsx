// The admin console's frame: a navigation bar over every signed-in admin page. It sits in a route
// group so /admin/login, a sibling outside the group, keeps the plain public layout. Each page
// checks the session itself (requireAdminPage); this frame shows nothing worth protecting.
import type { Metadata } from 'next';
import type { ReactNode } from 'react';
import { LogoutButton } from '@/app/admin/logout/logout-button';
import { AdminNavLinks } from './admin-nav-links';
import '../admin.css';

export const metadata: Metadata = {
  title: { default: 'Admin', template: '%s · Admin · Signup Demo' },
  robots: { index: false, follow: false },
};

export default function AdminConsoleLayout({ children }: { children: ReactNode }) {
  return (
    <div className="admin">
      <nav className="admin-nav" aria-label="Admin">
        <AdminNavLinks />
        <LogoutButton />
      </nav>
      {children}
    </div>
  );
}
