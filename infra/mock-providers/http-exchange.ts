// The small HTTP vocabulary the mock routes share: a route's shape, reading a capped request body,
// and JSON replies. node:http on purpose: a framework would hide exactly the socket behaviour
// (hangs, early errors, Retry-After) that these mocks exist to produce.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { z } from 'zod';
import type { MockState } from './mock-state';

export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  state: MockState;
}

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: RegExp;
  /** An operator's route: with MOCKS_TOKEN set, answered only to its bearer (control-auth.ts). */
  requiresToken?: boolean;
  /** A provider's route: with an API key set (MOCKS_API_KEY), answered only to its holder (control-auth.ts). */
  requiresApiKey?: boolean;
  /** `params` are the path's capture groups, already URI-decoded. */
  handle(exchange: Exchange, params: string[]): Promise<void> | void;
}

/** An expected refusal: becomes a JSON `{error}` reply with its status instead of a 500. */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    message: string,
    readonly headers: OutgoingHttpHeaders = {},
  ) {
    super(message);
  }
}

/**
 * Reads the whole body, refusing with 413 past `limitBytes`. The excess is drained rather than
 * cut off, so the client reads the 413 instead of a reset connection.
 */
export function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received <= limitBytes) chunks.push(chunk);
    });
    req.on('end', () => {
      if (received > limitBytes) reject(new HttpError(413, `body over ${limitBytes} bytes`));
      else resolve(Buffer.concat(chunks));
    });
    req.on('error', reject);
  });
}

export function parseJson(body: Buffer): unknown {
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    return value;
  } catch {
    throw new HttpError(400, 'body is not valid JSON');
  }
}

export async function readJson(req: IncomingMessage, limitBytes: number): Promise<unknown> {
  return parseJson(await readBody(req, limitBytes));
}

/** Parses `value` with `schema`, refusing with 400 and every problem found. */
export function validate<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || what}: ${issue.message}`);
  throw new HttpError(400, `invalid ${what}: ${problems.join('; ')}`);
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: OutgoingHttpHeaders = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

export function sendError(res: ServerResponse, status: number, message: string, headers: OutgoingHttpHeaders = {}): void {
  sendJson(res, status, { error: message }, headers);
}
