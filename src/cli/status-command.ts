/** `quorummq status`: reads a node's `/api/status` and prints it for a person (or as JSON). */
export async function runStatus(opts: { http: string; json?: boolean }): Promise<void> {
  let res: Response;
  try {
    res = await fetch(new URL('/api/status', opts.http), { signal: AbortSignal.timeout(5000) });
  } catch (e) {
    process.stderr.write(`quorummq status: cannot reach ${opts.http}: ${(e as Error).message}\n`);
    process.exit(1);
  }
  const status = (await res.json()) as Record<string, unknown> & {
    destinations?: Array<{ kind: string; name: string; depth: number; consumerCount: number; enqueueCount: number; dequeueCount: number }>;
  };
  if (opts.json) {
    process.stdout.write(JSON.stringify(status, null, 2) + '\n');
    return;
  }
  const lines = [
    `broker   ${status.brokerName}  (QuorumMQ ${status.version})`,
    `role     ${status.role}  mode=${status.mode}  store=${status.store}`,
    `uptime   ${Math.round(Number(status.uptimeMs) / 1000)} s`,
  ];
  const dests = status.destinations ?? [];
  if (dests.length > 0) {
    lines.push('', 'destination                                   depth  consumers   enqueued   dequeued');
    for (const d of dests) {
      lines.push(`${`${d.kind}://${d.name}`.padEnd(44)} ${String(d.depth).padStart(6)} ${String(d.consumerCount).padStart(10)} ${String(d.enqueueCount).padStart(10)} ${String(d.dequeueCount).padStart(10)}`);
    }
  }
  process.stdout.write(lines.join('\n') + '\n');
}
