/**
 * The pure dispatch decision for one queue: which pending message goes to which consumer.
 * No I/O and no state of its own; the queue feeds it a snapshot and applies the result.
 *
 * Rules (ActiveMQ Queue dispatch semantics):
 * - `pending` is already in delivery order (FIFO, or priority-then-FIFO when the queue's policy
 *   has `prioritizedMessages`); a message no consumer can take now is skipped, not blocking
 *   later ones that another consumer's selector accepts.
 * - Exclusive consumer: while any exclusive consumer is attached, only the first one attached
 *   receives (ActiveMQ "Exclusive Consumer"); the next one takes over when it leaves.
 * - Consumer priority (`activemq.priority`): consumers of a higher priority are served first
 *   while they have room; lower ones only get what the higher ones cannot take.
 * - Fairness: among consumers of equal priority, round-robin from where the last decision stopped.
 * - Prefetch: a consumer gets at most `room` more messages.
 * - Message groups (`JMSXGroupID`): a group sticks to the consumer that got its first message
 *   until that consumer leaves; `JMSXGroupSeq` = -1 closes the group after that message.
 */

export interface DispatchConsumer<E> {
  id: string;
  priority: number;
  exclusive: boolean;
  /** How many more messages it may take now (`Infinity` for auto-ack consumers). */
  room: number;
  /** Selector and noLocal filter. */
  accepts(entry: E): boolean;
}

export interface DispatchInput<E> {
  pending: readonly E[];
  /** In attach order. */
  consumers: readonly DispatchConsumer<E>[];
  /** Message group id -> consumer id. */
  groups: ReadonlyMap<string, string>;
  /** Round-robin position: index into `consumers` where the next search starts. */
  cursor: number;
  group(entry: E): { id: string; closes: boolean } | undefined;
}

export interface DispatchDecision {
  /** Indexes into `pending`, each with the consumer that gets it, in delivery order. */
  assignments: Array<{ index: number; consumerId: string }>;
  groups: Map<string, string>;
  cursor: number;
}

export function decideDispatch<E>(input: DispatchInput<E>): DispatchDecision {
  const groups = new Map(input.groups);
  const assignments: DispatchDecision['assignments'] = [];
  let cursor = input.cursor;

  const firstExclusive = input.consumers.find((c) => c.exclusive);
  const eligible = firstExclusive ? [firstExclusive] : [...input.consumers];
  const room = new Map<string, number>(eligible.map((c) => [c.id, c.room]));
  const present = new Set(input.consumers.map((c) => c.id));
  // Groups whose consumer has gone are reassigned (ActiveMQ: the group moves on close).
  for (const [g, owner] of groups) if (!present.has(owner)) groups.delete(g);

  // Highest priority first; the stable sort keeps attach order within one priority.
  const priorities = [...new Set(eligible.map((c) => c.priority))].sort((a, b) => b - a);

  const hasRoom = () => eligible.some((c) => (room.get(c.id) ?? 0) > 0);

  for (let index = 0; index < input.pending.length && hasRoom(); index++) {
    const entry = input.pending[index];
    const group = input.group(entry);
    const owner = group ? groups.get(group.id) : undefined;
    let chosen: DispatchConsumer<E> | undefined;

    if (owner !== undefined) {
      const c = eligible.find((x) => x.id === owner);
      if (c && (room.get(c.id) ?? 0) > 0 && c.accepts(entry)) chosen = c;
      // A group's owner that is full or not eligible holds the message back: group order.
      if (!chosen) continue;
    } else {
      for (const prio of priorities) {
        const tier = eligible.filter((c) => c.priority === prio);
        for (let k = 0; k < tier.length; k++) {
          const c = tier[(cursor + k) % tier.length];
          if ((room.get(c.id) ?? 0) > 0 && c.accepts(entry)) {
            chosen = c;
            cursor = ((cursor + k) % tier.length) + 1;
            break;
          }
        }
        if (chosen) break;
      }
      if (!chosen) continue;
      if (group) groups.set(group.id, chosen.id);
    }

    room.set(chosen.id, (room.get(chosen.id) ?? 0) - 1);
    assignments.push({ index, consumerId: chosen.id });
    if (group?.closes) groups.delete(group.id);
  }
  return { assignments, groups, cursor };
}
