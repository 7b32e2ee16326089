import type { DestinationRef, Message } from './message.js';
import type { MessageQueue } from './queue.js';
import { messageSelectorLookup, type Selector } from './selector/index.js';
import { matchesWildcard } from './wildcard.js';

/**
 * Something that receives a copy of every matching topic message: the private queue of a
 * non-durable subscription, or the backlog queue of a durable one. Selector and noLocal are
 * applied here, at fan-out, so a subscriber never holds messages it would not take.
 */
export interface TopicSubscriber {
  readonly pattern: DestinationRef;
  readonly queue: MessageQueue;
  readonly selector?: Selector;
  readonly noLocal: boolean;
  /** The connection of the (current) consumer, for noLocal. */
  connectionId(): string | undefined;
  /** Durable subscriptions persist persistent messages; non-durable ones never touch the store. */
  readonly durable: boolean;
}

/** Topic fan-out: which subscribers a message sent to a concrete topic name reaches. */
export class TopicRouter {
  private readonly subscribers = new Set<TopicSubscriber>();

  add(s: TopicSubscriber): void {
    this.subscribers.add(s);
  }

  remove(s: TopicSubscriber): void {
    this.subscribers.delete(s);
  }

  match(dest: DestinationRef, message: Message, senderConnectionId: string | undefined): TopicSubscriber[] {
    const out: TopicSubscriber[] = [];
    for (const s of this.subscribers) {
      if (s.pattern.kind !== dest.kind || !matchesWildcard(s.pattern.name, dest.name)) continue;
      if (s.noLocal && senderConnectionId !== undefined && s.connectionId() === senderConnectionId) continue;
      if (s.selector && !s.selector.matches(messageSelectorLookup(message))) continue;
      out.push(s);
    }
    return out;
  }

  /** How many subscribers listen on exactly this name or a pattern matching it. */
  countFor(dest: DestinationRef): number {
    let n = 0;
    for (const s of this.subscribers) if (s.pattern.kind === dest.kind && matchesWildcard(s.pattern.name, dest.name)) n++;
    return n;
  }
}
