import type { StompClient } from '../../src/client/index.js';

/**
 * Consumes a queue with client-individual acks until it has been quiet for `quietMs`; returns the
 * bodies in arrival order. `open` makes the connection (each test file has its own options).
 */
export async function drainQueue(open: () => Promise<StompClient>, destination: string, quietMs: number): Promise<string[]> {
  const c = await open();
  const sub = await c.subscribe(destination, { ack: 'client-individual', prefetch: 500 });
  const bodies: string[] = [];
  for (;;) {
    const m = await sub.next(quietMs);
    if (!m) break;
    bodies.push(m.text());
    await m.ack();
  }
  await c.close();
  return bodies;
}

/** Acknowledged bodies never received, and bodies received more than once. */
export function lostAndDuplicated(acked: Iterable<string>, received: string[]): { lost: string[]; duplicated: string[] } {
  const counts = new Map<string, number>();
  for (const b of received) counts.set(b, (counts.get(b) ?? 0) + 1);
  return { lost: [...acked].filter((b) => !counts.has(b)), duplicated: [...counts].filter(([, n]) => n > 1).map(([b]) => b) };
}
