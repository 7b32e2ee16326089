/**
 * Tallies for `bench/paired.ts`: brokers measured block by block in turn, so slow spells of a
 * shared machine fall on all of them alike. Pure.
 */

/** CPU time in ms, user and system (the kernel: syscalls, loopback TCP, wake-ups), from the text of `/proc/<pid>/stat`; `ticksPerSec` is USER_HZ. */
export function cpuMsFromStat(stat: string, ticksPerSec = 100): { user: number; sys: number } {
  // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`not a /proc/<pid>/stat line: ${stat.slice(0, 80)}`);
  return { user: (utime * 1000) / ticksPerSec, sys: (stime * 1000) / ticksPerSec };
}

/** Block b's order: the list rotated by b, so each broker goes first as often as the others. */
export function blockOrder<T>(items: readonly T[], block: number): T[] {
  if (items.length === 0) return [];
  const k = block % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

export interface BlockSample {
  broker: string;
  messages: number;
  /** The scenario's own rate for this block (its timed part). */
  perSec: number;
  /** CPU ms each process of the broker used over the whole block (sends and the untimed drain). */
  cpuMs: Record<string, number>;
}

export interface PairedRow {
  broker: string;
  blocks: number;
  messages: number;
  /** All messages over all timed time: blocks weigh by their duration, not one vote each. */
  perSec: number;
  /** perSec over the reference broker's. */
  ratio: number;
  /** CPU µs per message, per process of the broker. */
  cpuUsPerMessage: Record<string, number>;
}

export function summarizeBlocks(samples: readonly BlockSample[], reference: string): PairedRow[] {
  const by = new Map<string, { blocks: number; messages: number; timedSec: number; cpuMs: Record<string, number> }>();
  for (const s of samples) {
    if (!(s.perSec > 0)) throw new RangeError(`${s.broker}: a block without a positive rate`);
    const t = by.get(s.broker) ?? { blocks: 0, messages: 0, timedSec: 0, cpuMs: {} };
    t.blocks++;
    t.messages += s.messages;
    t.timedSec += s.messages / s.perSec;
    for (const [p, ms] of Object.entries(s.cpuMs)) t.cpuMs[p] = (t.cpuMs[p] ?? 0) + ms;
    by.set(s.broker, t);
  }
  const ref = by.get(reference);
  const refRate = ref ? ref.messages / ref.timedSec : Number.NaN;
  return [...by].map(([broker, t]) => {
    const perSec = t.messages / t.timedSec;
    const cpuUsPerMessage = Object.fromEntries(Object.entries(t.cpuMs).map(([p, ms]) => [p, Math.round((ms * 1000) / t.messages)]));
    return { broker, blocks: t.blocks, messages: t.messages, perSec: Math.round(perSec), ratio: Number((perSec / refRate).toFixed(3)), cpuUsPerMessage };
  });
}
