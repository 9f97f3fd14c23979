// Request bodies read with a ceiling and a deadline. A client that declares, or simply sends, more
// than an endpoint accepts is refused before the excess is held in memory. A client that sends its
// body slowly, or less of it than its Content-Length promised and then waits, is refused once the
// deadline passes, instead of holding a request open until the server's own timeout (minutes). A
// client that goes away mid-body is told apart from a bug: there is nobody to answer, and the
// request is counted as 499 (nginx's "client closed request"), never as a 5xx.

/** Long enough for a slow phone to send a few KiB, short enough that a held request costs little. */
export const BODY_DEADLINE_MS = 5_000;

/** What reading a body gave: its text, or why there is none. */
export type BodyRead =
  | { kind: 'read'; text: string }
  | { kind: 'too-large' }
  | { kind: 'too-slow' }
  | { kind: 'aborted' };

/** Reads at most `limit` bytes within `deadlineMs`, whatever Content-Length claims. */
export async function readCappedText(request: Request, limit: number, deadlineMs = BODY_DEADLINE_MS): Promise<BodyRead> {
  const declared = Number(request.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limit) return { kind: 'too-large' };
  if (!request.body) return { kind: 'read', text: '' };
  const reader = request.body.getReader();
  let timedOut = false;
  // Cancelling ends the pending read as if the body had ended; the flag says it did not.
  const timer = setTimeout(() => {
    timedOut = true;
    reader.cancel().catch(() => undefined);
  }, deadlineMs);
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (timedOut) return { kind: 'too-slow' };
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        await reader.cancel().catch(() => undefined);
        return { kind: 'too-large' };
      }
      chunks.push(value);
    }
  } catch {
    // The stream errors when the client's connection closes before the body ended.
    return timedOut ? { kind: 'too-slow' } : { kind: 'aborted' };
  } finally {
    clearTimeout(timer);
  }
  return { kind: 'read', text: new TextDecoder().decode(Buffer.concat(chunks)) };
}

/** The answer to a body that did not arrive whole. */
export function refuseUnreadBody(read: Exclude<BodyRead, { kind: 'read' }>, limitText: string): Response {
  switch (read.kind) {
    case 'too-large':
      return Response.json({ error: `The body must be at most ${limitText}.` }, { status: 413 });
    case 'too-slow':
      return Response.json(
        { error: `The request body did not arrive within ${BODY_DEADLINE_MS / 1_000} s.` },
        { status: 408, headers: { connection: 'close' } },
      );
    case 'aborted':
      return new Response(null, { status: 499 });
  }
}
