import type { Metadata, Viewport } from 'next';
import Link from 'next/link';
import type { ReactNode } from 'react';
import './globals.css';

export const metadata: Metadata = {
  title: { default: 'Signup Demo', template: '%s · Signup Demo' },
  description: 'A signup that saves you, answers at once, and does the slow work in background jobs.',
};

export const viewport: Viewport = {
  colorScheme: 'light dark',
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <header className="site-header">
          <div className="container">
            <Link href="/" className="brand">
              Signup Demo
            </Link>
            <p className="tagline">Saves you, answers at once, does the slow work in the background.</p>
          </div>
        </header>
        <main className="container">{children}</main>
      </body>
    </html>
  );
}
