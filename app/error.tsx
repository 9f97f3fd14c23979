'use client';
// Shown when a page cannot be rendered, in practice when the database is unreachable while the
// status page loads. Nothing is lost: the signup and its jobs are already saved.
export default function ErrorPage({ reset }: { error: Error & { digest?: string }; reset: () => void }) {
  return (
    <section className="card">
      <h1>This page is unavailable for a moment</h1>
      <p className="lede">
        We could not load it just now. Anything you already submitted is saved and its background work carries on.
      </p>
      <button type="button" className="button" onClick={reset}>
        Try again
      </button>
    </section>
  );
}
