// The admin login page: the only page under /admin that the proxy lets strangers see. An admin who
// is already signed in goes straight on.
import type { Metadata } from 'next';
import { redirect } from 'next/navigation';
import { safeNextPath, signedInAdmin } from '@/app/_admin/auth/admin-auth';
import { LoginForm } from '@/app/admin/login/login-form';
import { config } from '@/lib/config';

export const dynamic = 'force-dynamic';

export const metadata: Metadata = {
  title: 'Admin login',
  robots: { index: false, follow: false },
};

export default async function AdminLoginPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const next = safeNextPath((await searchParams).next);
  const admin = config().admin;

  if (!admin.password) {
    return (
      <section className="card" aria-labelledby="login-heading">
        <h1 id="login-heading">Admin is disabled</h1>
        <p className="lede">
          No admin password is configured, so nobody can sign in. Set <code>ADMIN_PASSWORD</code> and restart the
          web app.
        </p>
      </section>
    );
  }

  // A live session only: a logged-out cookie that still verifies would bounce between here and next.
  if (await signedInAdmin()) redirect(next);

  return (
    <section className="card" aria-labelledby="login-heading">
      <h1 id="login-heading">Admin login</h1>
      <p className="lede">Queue health, the job browser and dead letters. Sign in with the admin user and password.</p>
      <LoginForm next={next} />
    </section>
  );
}
