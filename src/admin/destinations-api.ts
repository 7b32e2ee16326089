import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { BrokerCoreApi } from '../broker/api.js';
import type { DestinationRef, Message } from '../broker/message.js';
import { PROPERTY_TYPES_HEADER } from '../broker/message.js';
import type { DestinationStats } from '../broker/stats.js';
import type { AuthenticationConfig } from '../config/types.js';
import { ErrorCodes, QmqError, toQmqError, type ErrorCodeName } from '../util/errors.js';
import { adminAccess } from './access.js';

/** What the destination API needs from the node. */
export interface DestinationsSource {
  /** The broker core while this node is master; throws NOT_MASTER otherwise. */
  core(): BrokerCoreApi;
  destinations(): DestinationStats[];
  authentication(): AuthenticationConfig | undefined;
}

/** Browsing returns at most this many messages per request (the queue's own cap is 10,000). */
export const MAX_BROWSE_LIMIT = 1000;
const DEFAULT_BROWSE_LIMIT = 100;

const HTTP_STATUS: Partial<Record<ErrorCodeName, number>> = {
  UNKNOWN_DESTINATION: 404,
  UNKNOWN_MESSAGE: 404,
  DESTINATION_IN_USE: 409,
  INVALID_DESTINATION: 400,
  REQUEST_INVALID: 400,
  RESOURCE_LIMIT: 429,
  NOT_AUTHENTICATED: 401,
  NOT_AUTHORIZED: 403,
  NOT_MASTER: 503,
  NO_QUORUM: 503,
  SHUTTING_DOWN: 503,
  SYNC_TIMEOUT: 504,
};

const sendBody = z.strictObject({
  body: z.string().max(16 * 1024 * 1024),
  headers: z.record(z.string().min(1).max(1024), z.string().max(64 * 1024)).optional(),
  persistent: z.boolean().optional(),
  priority: z.number().int().min(0).max(9).optional(),
  /** Time to live in ms; 0 or absent = never expires. */
  ttlMs: z.number().int().min(0).optional(),
});

const moveBody = z.strictObject({ queue: z.string().min(1).optional(), topic: z.string().min(1).optional() });

type ErrorBody = { error: { code: string; name: ErrorCodeName; message: string } };

export function errorBody(name: ErrorCodeName, message: string): ErrorBody {
  return { error: { code: ErrorCodes[name], name, message } };
}

/** Sets the HTTP status for a failure and returns its JSON, which names the catalogue code. */
function errorReply(reply: FastifyReply, e: unknown): ErrorBody {
  const err = toQmqError(e);
  reply.code(HTTP_STATUS[err.codeName] ?? 500);
  return errorBody(err.codeName, err.message);
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function isReadableText(b: Buffer): boolean {
  try {
    // Control characters other than tab, newline and carriage return mark binary data.
    return !/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(strictUtf8.decode(b));
  } catch {
    return false;
  }
}

/** One message as JSON: text bodies as UTF-8, bytes as base64. Our private header stays hidden. */
function messageJson(seq: number, m: Message): Record<string, unknown> {
  const { [PROPERTY_TYPES_HEADER]: _types, ...headers } = m.headers;
  // Bytes that are readable text (STOMP clients often send text with content-length) show as text.
  const readable = !m.bodyIsBytes || isReadableText(m.body);
  return {
    seq,
    messageId: m.id,
    destination: `${m.destination.kind}://${m.destination.name}`,
    persistent: m.persistent,
    priority: m.priority,
    timestamp: m.timestamp,
    expires: m.expires,
    redeliveryCount: m.redeliveryCount,
    ...(m.originalDestination ? { originalDestination: `${m.originalDestination.kind}://${m.originalDestination.name}` } : {}),
    headers,
    size: m.body.length,
    bodyType: m.bodyIsBytes ? 'bytes' : 'text',
    bodyEncoding: readable ? 'utf8' : 'base64',
    body: m.body.toString(readable ? 'utf8' : 'base64'),
  };
}

/**
 * The operator's view of destinations, as ActiveMQ's web console and JMX give it: list them,
 * browse a queue, purge it, delete a queue or topic, send a message. JSON in and out; errors
 * carry the catalogue code. Access is `adminAccess`: open without broker authentication,
 * Basic credentials with it, the `admins` group for changes.
 */
export function registerDestinationsApi(app: FastifyInstance, source: DestinationsSource): void {
  const guard = (change: boolean) => async (req: FastifyRequest, reply: FastifyReply) => {
    const d = adminAccess(source.authentication(), req.headers.authorization, change);
    if (d.allowed) return;
    if (d.status === 401) reply.header('www-authenticate', 'Basic realm="QuorumMQ"');
    reply.code(d.status).send(errorBody(d.status === 401 ? 'NOT_AUTHENTICATED' : 'NOT_AUTHORIZED', d.message));
    return reply;
  };
  const read = { preHandler: guard(false) };
  const change = { preHandler: guard(true) };
  const queueOf = (req: FastifyRequest): DestinationRef => ({ kind: 'queue', name: (req.params as { name: string }).name });
  const topicOf = (req: FastifyRequest): DestinationRef => ({ kind: 'topic', name: (req.params as { name: string }).name });

  /** A handler whose failures (a QmqError, validation included) become the JSON error reply. */
  const answer =
    (fn: (req: FastifyRequest) => Promise<object> | object) =>
    async (req: FastifyRequest, reply: FastifyReply): Promise<object> => {
      try {
        return await fn(req);
      } catch (e) {
        return errorReply(reply, e);
      }
    };
  const invalid = (message: string) => new QmqError('REQUEST_INVALID', message);
  const messageIdOf = (req: FastifyRequest) => (req.params as { id: string }).id;
  const key = (ref: DestinationRef) => `${ref.kind}://${ref.name}`;
  /** `?limit=` of a listing: 1 to MAX_BROWSE_LIMIT, DEFAULT_BROWSE_LIMIT when absent. */
  const limitOf = (req: FastifyRequest): number => {
    const raw = (req.query as { limit?: string }).limit;
    const limit = raw === undefined ? DEFAULT_BROWSE_LIMIT : Number(raw);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_BROWSE_LIMIT) throw invalid(`limit must be a whole number from 1 to ${MAX_BROWSE_LIMIT}, not '${raw}'`);
    return limit;
  };

  app.get(
    '/api/destinations',
    read,
    answer(() => {
      source.core();
      return { destinations: source.destinations().filter((d) => d.kind === 'queue' || d.kind === 'topic') };
    }),
  );

  app.get('/api/connections', read, answer(() => ({ connections: source.core().connectionStats() })));

  app.get(
    '/api/scheduled',
    read,
    answer(async (req) => {
      const limit = limitOf(req);
      const jobs = await source.core().scheduledMessages(limit);
      return { scheduled: jobs.map((j) => ({ jobId: j.jobId, nextAt: j.nextAt, periodMs: j.periodMs, repeatsLeft: j.repeatsLeft, ...messageJson(0, j.message) })) };
    }),
  );

  app.delete(
    '/api/scheduled/:id',
    change,
    answer(async (req) => {
      await source.core().removeScheduled(messageIdOf(req));
      return { removed: messageIdOf(req) };
    }),
  );

  app.get(
    '/api/queues/:name/messages',
    read,
    answer(async (req) => {
      const limit = limitOf(req);
      const ref = queueOf(req);
      const messages = await source.core().browseQueue(ref, limit);
      return { queue: ref.name, messages: messages.map((m) => messageJson(m.seq, m.message)) };
    }),
  );

  app.post('/api/queues/:name/purge', change, answer(async (req) => ({ queue: queueOf(req).name, purged: await source.core().purgeQueue(queueOf(req)) })));

  app.delete(
    '/api/queues/:name/messages/:id',
    change,
    answer(async (req) => {
      await source.core().deleteMessage(queueOf(req), messageIdOf(req));
      return { queue: queueOf(req).name, deleted: messageIdOf(req) };
    }),
  );

  app.post(
    '/api/queues/:name/messages/:id/move',
    change,
    answer(async (req) => {
      const parsed = moveBody.safeParse(req.body);
      if (!parsed.success || (parsed.data.queue === undefined) === (parsed.data.topic === undefined)) throw invalid('a move names its target as {"queue": "NAME"} or {"topic": "NAME"}');
      const to: DestinationRef = parsed.data.queue !== undefined ? { kind: 'queue', name: parsed.data.queue } : { kind: 'topic', name: parsed.data.topic! };
      return { messageId: messageIdOf(req), movedTo: key(await source.core().moveMessage(queueOf(req), messageIdOf(req), to)) };
    }),
  );

  app.post(
    '/api/queues/:name/messages/:id/retry',
    change,
    answer(async (req) => ({ messageId: messageIdOf(req), movedTo: key(await source.core().moveMessage(queueOf(req), messageIdOf(req))) })),
  );

  app.post('/api/queues/:name/retry', change, answer(async (req) => ({ queue: queueOf(req).name, retried: await source.core().retryMessages(queueOf(req)) })));

  for (const [path, refOf] of [['/api/queues/:name', queueOf], ['/api/topics/:name', topicOf]] as const) {
    app.delete(
      path,
      change,
      answer(async (req) => {
        await source.core().deleteDestination(refOf(req));
        return { deleted: key(refOf(req)) };
      }),
    );

    app.post(
      `${path}/messages`,
      change,
      answer(async (req) => {
        const parsed = sendBody.safeParse(req.body);
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          throw invalid(`invalid message: ${issue.path.join('.') || 'body'}: ${issue.message}`);
        }
        const p = parsed.data;
        const creds = adminAccess(source.authentication(), req.headers.authorization, true);
        // Sent as the caller, so the broker's authorization map applies to it as to any client.
        const conn = source.core().connect({
          remoteAddress: `${req.ip} (HTTP)`,
          protocol: 'http',
          ...(creds.allowed && creds.login !== undefined ? { login: creds.login, passcode: creds.passcode } : {}),
        });
        try {
          const messageId = `ID:http-${conn.id}:1:1:1`;
          await conn.send({
            destination: refOf(req),
            headers: p.headers ?? {},
            body: Buffer.from(p.body, 'utf8'),
            bodyIsBytes: false,
            persistent: p.persistent ?? true,
            ...(p.priority !== undefined ? { priority: p.priority } : {}),
            ...(p.ttlMs ? { expires: Date.now() + p.ttlMs } : {}),
            messageId,
          });
          return { messageId };
        } finally {
          await conn.close();
        }
      }),
    );
  }
}
