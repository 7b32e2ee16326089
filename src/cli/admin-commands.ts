/**
 * `quorummq purge` and `quorummq retry`: an operator's changes to queues through a node's
 * destination API (admin/destinations-api.ts), as ActiveMQ's `activemq purge` and the console's
 * "Retry" do. With `--user`/`--password` they send HTTP Basic credentials (a broker with
 * `<simpleAuthenticationPlugin>` asks a user of the `admins` group).
 */
export interface AdminOptions {
  http: string;
  user?: string;
  password?: string;
  json?: boolean;
}

async function post(opts: AdminOptions, path: string): Promise<Record<string, unknown>> {
  const headers: Record<string, string> = {};
  if (opts.user !== undefined) headers.authorization = `Basic ${Buffer.from(`${opts.user}:${opts.password ?? ''}`).toString('base64')}`;
  let res: Response;
  try {
    res = await fetch(new URL(path, opts.http), { method: 'POST', headers, signal: AbortSignal.timeout(60_000) });
  } catch (e) {
    throw new Error(`cannot reach ${opts.http}: ${(e as Error).message}`);
  }
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown> & { error?: { code: string; message: string } };
  if (!res.ok) throw new Error(body.error ? `${body.error.code} ${body.error.message}` : `HTTP ${res.status}`);
  return body;
}

/** Runs `action` for each queue; a failure is reported and the rest still run; exit code 1 if any failed. */
async function eachQueue(command: string, queues: string[], opts: AdminOptions, action: (q: string) => Promise<Record<string, unknown>>, say: (q: string, r: Record<string, unknown>) => string): Promise<void> {
  let failed = false;
  for (const q of queues) {
    try {
      const r = await action(q);
      process.stdout.write((opts.json ? JSON.stringify(r) : say(q, r)) + '\n');
    } catch (e) {
      failed = true;
      process.stderr.write(`quorummq ${command}: ${q}: ${(e as Error).message}\n`);
    }
  }
  if (failed) process.exitCode = 1;
}

export function runPurge(queues: string[], opts: AdminOptions): Promise<void> {
  return eachQueue('purge', queues, opts, (q) => post(opts, `/api/queues/${encodeURIComponent(q)}/purge`), (q, r) => `purged ${String(r.purged)} message(s) from queue ${q}`);
}

export function runRetry(queues: string[], opts: AdminOptions): Promise<void> {
  return eachQueue('retry', queues, opts, (q) => post(opts, `/api/queues/${encodeURIComponent(q)}/retry`), (q, r) => `sent ${String(r.retried)} message(s) from ${q} back to where they came from`);
}
