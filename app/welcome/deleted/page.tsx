// Where "Delete my account" lands. A static path beside /welcome/<token>: the deleted account's
// token now opens nothing (404), so the confirmation cannot live on its page.
import type { Metadata } from 'next';
import Link from 'next/link';

export const metadata: Metadata = {
  title: 'Account deleted',
  robots: { index: false, follow: false },
};

export default function AccountDeletedPage() {
  return (
    <section className="card" aria-labelledby="deleted-heading">
      <h1 id="deleted-heading">Your account is deleted</h1>
      <p className="lede" data-testid="account-deleted">
        Your account and everything saved with it are gone, and no more emails will be sent to you. Your CRM contact,
        analytics events and avatar are being deleted at our providers: within about a minute, or, if a provider is
        down, as soon as it is back. The link to your status page no longer works.
      </p>
      <Link href="/" className="button">
        Go to the signup page
      </Link>
    </section>
  );
}
