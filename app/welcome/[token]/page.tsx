// The new user's status page (the signup's statusUrl). The token in the path is the only key, so
// the page is never indexed and sends its address (with the token in it) to no other site. A link
// that has expired opens only a form that emails a fresh one to the account's own address.
// Besides the live job list
// it offers the user's two actions, each a plain form that works without JavaScript: resend the
// verification email (in the job list, which hides it once the address is confirmed) and delete
// the account.
import type { Metadata } from 'next';
import { notFound } from 'next/navigation';
import { signupStatus } from '@/app/_signup/signup-status';
import { webRuntime } from '@/app/_web/web-runtime';
import { DeleteAccountForm } from '@/app/welcome/[token]/delete-account-form';
import { JobStatusList } from '@/app/welcome/[token]/job-status-list';
import { ResendVerificationForm } from '@/app/welcome/[token]/resend-verification-form';

export const dynamic = 'force-dynamic';

export const metadata: Metadata = {
  title: 'Welcome',
  robots: { index: false, follow: false },
  // Not no-referrer: Chromium then sends `Origin: null` with the page's own form posts, which
  // Next refuses for server actions. same-origin keeps the token from every other site.
  referrer: 'same-origin',
};

export default async function WelcomePage({
  params,
  searchParams,
}: {
  params: Promise<{ token: string }>;
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const { token } = await params;
  const { verified } = await searchParams;
  const lookup = await signupStatus(token, webRuntime());
  if (lookup.state === 'unknown') notFound();
  if (lookup.state === 'expired') return <ExpiredLink token={token} />;
  const { status } = lookup;

  return (
    <>
      <section className="card" aria-labelledby="welcome-heading">
        {verified === '1' && status.emailVerified && (
          <p className="banner banner-success" role="status">
            Email confirmed. Thank you!
          </p>
        )}
        <h1 id="welcome-heading">Welcome, {status.name}</h1>
        <p className="lede">
          Your account is saved{status.workspace ? <> in the <strong>{status.workspace}</strong> workspace</> : null}.
          The work below happens in the background, in separate worker processes; this page updates by itself as
          each job finishes, and you can close it at any time.
        </p>
        <JobStatusList token={token} initialStatus={status} />
      </section>
      <section className="card danger-zone" aria-labelledby="delete-heading">
        <h2 id="delete-heading">Delete my account</h2>
        <p className="muted">
          Removes your account and everything saved with it at once, and cancels the emails still planned for you.
          What our providers hold of you, your CRM contact, your analytics events and your avatar, is deleted there
          within about a minute, and retried until it is done if a provider is down. This page stops working
          afterwards.
        </p>
        <DeleteAccountForm token={token} />
      </section>
    </>
  );
}

function ExpiredLink({ token }: { token: string }) {
  return (
    <section className="card" aria-labelledby="expired-heading">
      <h1 id="expired-heading">This link has expired</h1>
      <p className="lede" data-testid="link-expired">
        Links to this page work for a week. We can email a new one to the address you signed up with.
      </p>
      <ResendVerificationForm token={token} label="Email me a new link" />
    </section>
  );
}
