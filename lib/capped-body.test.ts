import { describe, expect, it } from 'vitest';
import { readCappedText } from '@/lib/capped-body';

const encoder = new TextEncoder();

function requestWith(body: ReadableStream<Uint8Array>, headers: Record<string, string> = {}): Request {
  // duplex: a streamed request body, as a server hands one to a route.
  return new Request('http://app.test/', { method: 'POST', body, headers, duplex: 'half' } as RequestInit);
}

/** Sends `first`, then nothing more and never ends: a client that promised more than it sent. */
function stalledAfter(first: string): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(encoder.encode(first));
    },
  });
}

describe('readCappedText', () => {
  it('reads a body that arrives whole', async () => {
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(encoder.encode('{"name":'));
        controller.enqueue(encoder.encode('"Ada"}'));
        controller.close();
      },
    });
    expect(await readCappedText(requestWith(stream), 100)).toEqual({ kind: 'read', text: '{"name":"Ada"}' });
  });

  it('refuses a body over the limit, declared or sent', async () => {
    expect(await readCappedText(requestWith(stalledAfter('x'), { 'content-length': '101' }), 100)).toEqual({ kind: 'too-large' });
    expect(await readCappedText(requestWith(stalledAfter('x'.repeat(101))), 100)).toEqual({ kind: 'too-large' });
  });

  it('gives up on a body that stops before its end, at the deadline', async () => {
    const started = performance.now();
    expect(await readCappedText(requestWith(stalledAfter('{"name":')), 100, 200)).toEqual({ kind: 'too-slow' });
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('tells a client that went away mid-body from a body that ended', async () => {
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode('{"name":'));
        setTimeout(() => controller.error(new Error('aborted')), 10);
      },
    });
    expect(await readCappedText(requestWith(stream), 100)).toEqual({ kind: 'aborted' });
  });
});
