import type { Metadata } from 'next';
import { SignupForm } from '@/app/signup/signup-form';

export const metadata: Metadata = { title: 'Sign up' };

export default function SignupPage() {
  return (
    <section className="card" aria-labelledby="signup-heading">
      <h1 id="signup-heading">Create your account</h1>
      <p className="lede">
        Your account is saved the moment you press the button. The welcome email, CRM record, avatar and
        analytics follow in the background, and you can watch them arrive.
      </p>
      <SignupForm />
    </section>
  );
}
