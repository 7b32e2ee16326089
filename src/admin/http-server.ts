import Fastify, { type FastifyInstance } from 'fastify';
import { Registry, Gauge, collectDefaultMetrics } from 'prom-client';
import { adminAccess } from './access.js';
import { CONSOLE_PAGE } from './console-page.js';
import { errorBody, registerDestinationsApi, type DestinationsSource } from './destinations-api.js';

/** What the HTTP surface reads from the node; kept narrow so the admin layer sees no internals. */
export interface AdminSource extends DestinationsSource {
  status(): Promise<Record<string, unknown>>;
  /** Ready = master and serving clients (DESIGN §1). */
  ready(): boolean;
}

/**
 * `/healthz` (the process is up), `/readyz` (it is the master and serving), `/api/status`
 * (JSON for `quorummq status` and people), `/metrics` (Prometheus), the destination API
 * (`destinations-api.ts`) and the web console at `/admin`.
 */
export async function startHttp(host: string, port: number, source: AdminSource): Promise<{ app: FastifyInstance; port: number }> {
  const app = Fastify({ logger: false });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'quorummq_process_' });
  const depth = new Gauge({ name: 'quorummq_destination_depth', help: 'Messages waiting in a destination', labelNames: ['kind', 'name'], registers: [registry] });
  const enq = new Gauge({ name: 'quorummq_destination_enqueued_total', help: 'Messages sent to a destination since start', labelNames: ['kind', 'name'], registers: [registry] });
  const deq = new Gauge({ name: 'quorummq_destination_dequeued_total', help: 'Messages consumed from a destination since start', labelNames: ['kind', 'name'], registers: [registry] });
  const consumers = new Gauge({ name: 'quorummq_destination_consumers', help: 'Consumers attached to a destination', labelNames: ['kind', 'name'], registers: [registry] });
  const readyGauge = new Gauge({ name: 'quorummq_ready', help: '1 when this node is the master and serving clients', registers: [registry] });

  // Fastify's own refusals (a body that is not JSON, one over its 1 MiB limit) in our error shape.
  app.setErrorHandler((err: { statusCode?: number; message: string }, _req, reply) => {
    const status = err.statusCode !== undefined && err.statusCode >= 400 ? err.statusCode : 500;
    reply.code(status).send(errorBody(status < 500 ? 'REQUEST_INVALID' : 'INTERNAL', err.message));
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const ok = source.ready();
    reply.code(ok ? 200 : 503);
    return { ready: ok };
  });
  app.get('/api/status', async () => source.status());
  registerDestinationsApi(app, source);
  app.get('/', async (_req, reply) => reply.redirect('/admin'));
  app.get('/admin', async (req, reply) => {
    // Asking here makes the browser prompt once; its later API calls carry the same credentials.
    const d = adminAccess(source.authentication(), req.headers.authorization, false);
    if (!d.allowed) {
      if (d.status === 401) reply.header('www-authenticate', 'Basic realm="QuorumMQ"');
      reply.code(d.status).type('text/plain; charset=utf-8');
      return d.message;
    }
    reply.type('text/html; charset=utf-8').header('content-security-policy', "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'");
    return CONSOLE_PAGE;
  });
  app.get('/metrics', async (_req, reply) => {
    depth.reset();
    enq.reset();
    deq.reset();
    consumers.reset();
    for (const d of source.destinations()) {
      const labels = { kind: d.kind, name: d.name };
      depth.set(labels, d.depth);
      enq.set(labels, d.enqueueCount);
      deq.set(labels, d.dequeueCount);
      consumers.set(labels, d.consumerCount);
    }
    readyGauge.set(source.ready() ? 1 : 0);
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });
  await app.listen({ host, port });
  const addr = app.server.address() as import('node:net').AddressInfo;
  return { app, port: addr.port };
}
