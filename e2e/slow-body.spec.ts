// A client that promises a body and sends only part of it, then waits: the signup answers 408 at
// its body deadline instead of holding the connection open for minutes. Raw TCP against the
// running production server, since a browser or fetch always sends the body it declares.
import { connect } from 'node:net';
import { BODY_DEADLINE_MS } from '../lib/capped-body';
import { E2E } from './support/e2e-environment';
import { expect, test } from './support/fixtures';

test('a body that stops short of its Content-Length is answered 408 within seconds', async () => {
  const { hostname, port } = new URL(E2E.baseUrl);
  const socket = connect(Number(port), hostname);
  const started = Date.now();
  const answer = await new Promise<string>((resolve, reject) => {
    let received = '';
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('utf8');
      if (received.includes('\r\n\r\n')) resolve(received);
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(received));
    socket.write(
      'POST /api/signups HTTP/1.1\r\n' +
        `Host: ${hostname}:${port}\r\n` +
        'Content-Type: application/json\r\n' +
        'Content-Length: 200\r\n' +
        '\r\n' +
        '{"name":"Slow Loris",',
    );
  }).finally(() => socket.destroy());

  expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 408 Request Timeout');
  expect(Date.now() - started).toBeLessThan(BODY_DEADLINE_MS + 3_000);
});
