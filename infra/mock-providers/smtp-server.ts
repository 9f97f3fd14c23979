// The email provider: an SMTP server (npm smtp-server) that records each message by its
// Message-ID and answers with the SMTP reply codes a real relay uses for each fault mode, so the
// email worker meets 421/451/550 exactly as it would in production. Given a certificate it offers
// STARTTLS (and serves SMTPS on a second port, start-mock-providers.ts); given credentials it
// requires AUTH, as a real relay does.
import { createHash, timingSafeEqual } from 'node:crypto';
import { buffer } from 'node:stream/consumers';
import { setTimeout as delay } from 'node:timers/promises';
import { simpleParser } from 'mailparser';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { FaultDecision } from './fault-modes';
import type { MockState } from './mock-state';

// Welcome emails are a few KiB; the cap only stops a runaway client from filling memory.
const MAX_MESSAGE_BYTES = 10 * 1024 * 1024;

class SmtpReplyError extends Error {
  override name = 'SmtpReplyError';
  constructor(
    readonly responseCode: number,
    message: string,
  ) {
    super(message);
  }
}

const FAULT_REPLIES: Record<Extract<FaultDecision, { kind: 'fail' }>['mode'], () => SmtpReplyError> = {
  flaky: () => new SmtpReplyError(451, '4.3.0 injected transient failure (flaky)'),
  down: () => new SmtpReplyError(421, '4.3.2 service not available (down)'),
  ratelimit: () => new SmtpReplyError(451, '4.7.0 rate limited'),
  reject: () => new SmtpReplyError(550, '5.7.1 message rejected (injected permanent failure)'),
};

type Verdict = { kind: 'reply'; error: SmtpReplyError | null } | { kind: 'hold' };

export interface SmtpServerOptions {
  /** PEM key and certificate: STARTTLS is offered, or with `secure` TLS starts at once (SMTPS). */
  tls?: { key: string; cert: string };
  secure?: boolean;
  /** MOCKS_SMTP_USER and MOCKS_SMTP_PASSWORD: AUTH is then required, and only over TLS. */
  auth?: { user: string; password: string };
}

export function createSmtpServer(state: MockState, { tls, secure = false, auth }: SmtpServerOptions = {}): SMTPServer {
  // Hung sessions by session id, so a client that gives up is forgotten.
  const forgetHeld = new Map<string, () => void>();

  const server: SMTPServer = new SMTPServer({
    ...(tls ? { key: tls.key, cert: tls.cert, secure } : {}),
    authOptional: !auth,
    authMethods: ['PLAIN', 'LOGIN'],
    disabledCommands: tls ? [] : ['STARTTLS'],
    onAuth(presented, _session, callback) {
      if (auth && sameSecret(presented.username, auth.user) && sameSecret(presented.password, auth.password)) {
        return callback(null, { user: auth.user });
      }
      callback(new SmtpReplyError(535, '5.7.8 authentication credentials invalid'));
    },
    logger: false,
    size: MAX_MESSAGE_BYTES,
    banner: 'mock email provider',
    onData(stream, session, callback) {
      receive(state, stream, session).then(
        (verdict) => {
          if (verdict.kind === 'reply') return callback(verdict.error);
          // Closing the connection is how a hung session is cut loose; the server's own
          // connection list is the only handle smtp-server gives on a session's socket.
          const release = () => [...server.connections].find((c) => c.id === session.id)?.close();
          forgetHeld.set(session.id, state.held.hold(release));
        },
        (error: unknown) => {
          if (state.closing.aborted) return;
          console.error('[mocks] smtp message failed', error);
          callback(new SmtpReplyError(451, '4.3.0 mock provider failed; see its log'));
        },
      );
    },
    onClose(session) {
      forgetHeld.get(session.id)?.();
      forgetHeld.delete(session.id);
    },
  });
  return server;
}

function sameSecret(presented: string | null | undefined, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(presented ?? ''), digest(expected));
}

/** The message's Message-ID header, read from its header block alone (folded lines joined). */
export function messageId(message: Buffer): string | undefined {
  const text = message.toString('utf8');
  const end = text.search(/\r?\n\r?\n/);
  const headers = (end === -1 ? text : text.slice(0, end)).replace(/\r?\n[ \t]+/g, ' ');
  const value = /^message-id:[ \t]*(.*)$/im.exec(headers)?.[1]?.trim();
  return value === '' ? undefined : value;
}

async function receive(state: MockState, stream: SMTPServerDataStream, session: SMTPServerSession): Promise<Verdict> {
  const message = await buffer(stream);
  // smtp-server answers 552 itself for an oversized message, whatever we reply.
  if (stream.sizeExceeded) return { kind: 'reply', error: null };

  const key = messageId(message);
  if (!key) return { kind: 'reply', error: new SmtpReplyError(550, '5.6.0 Message-ID header is required') };

  const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
  const to = session.envelope.rcptTo.map((recipient) => recipient.address);
  // Parsed when someone inspects it, not as it arrives: a full MIME parse costs about a millisecond
  // of CPU a message, which the mocks would take from the stack they share a machine with.
  let parsed: Promise<unknown> | undefined;
  const apply = () => ({
    body: undefined,
    readBody: () =>
      (parsed ??= simpleParser(message).then((mail) => ({
        from,
        to,
        subject: mail.subject ?? '',
        text: mail.text ?? '',
        ...(mail.html ? { html: mail.html } : {}),
      }))),
    response: {},
  });

  const decision = state.faults.decide('smtp');
  if (decision.kind === 'fail') {
    state.records.recordFailure('smtp', key);
    return { kind: 'reply', error: FAULT_REPLIES[decision.mode]() };
  }
  if (decision.kind === 'hang') {
    // As over HTTP, a hung message is delivered and only the reply is lost.
    state.records.recordDelivery('smtp', key, apply);
    return { kind: 'hold' };
  }
  if (decision.delayMs > 0) await delay(decision.delayMs, undefined, { signal: state.closing });
  state.records.recordDelivery('smtp', key, apply);
  return { kind: 'reply', error: null };
}
