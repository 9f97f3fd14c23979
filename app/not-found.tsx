import Link from 'next/link';

export default function NotFound() {
  return (
    <section className="card not-found" aria-labelledby="not-found-heading">
      <h1 id="not-found-heading">We could not find that page</h1>
      <p className="lede">
        If you followed a link to your status page, check that it was copied whole; the long code at its end is
        the only way to reach it.
      </p>
      <Link href="/" className="button">
        Go to the signup page
      </Link>
    </section>
  );
}
