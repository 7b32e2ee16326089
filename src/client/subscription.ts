export type AckMode = 'auto' | 'client' | 'client-individual';

/** A message received on a subscription. */
export interface ReceivedMessage {
  destination: string;
  messageId: string;
  headers: Record<string, string>;
  body: Buffer;
  /** The broker delivered it before (for example to a connection that was lost before acking it). */
  redelivered: boolean;
  /** How often it was delivered before (0 on first delivery). */
  redeliveryCount: number;
  text(): string;
  /**
   * Acknowledges it (client and client-individual subscriptions). A message delivered on a
   * connection that has since been lost cannot be acked any more: the call resolves without
   * effect and the broker redelivers the message, flagged `redelivered`.
   */
  ack(transaction?: string): Promise<void>;
  /** Rejects it: the broker redelivers it, or dead-letters it after its redelivery limit. */
  nack(transaction?: string): Promise<void>;
}

export interface SubscribeOptions {
  ack?: AckMode;
  /** A JMS selector (SQL-92 subset), e.g. `type = 'order' AND amount > 10`. */
  selector?: string;
  /** How many unacked messages the broker may push ahead (`activemq.prefetchSize`). */
  prefetch?: number;
  /** A durable topic subscription name (`activemq.subscriptionName`); needs `clientId`. */
  durableName?: string;
  /** Queue browsing: yields the current messages, then ends. */
  browse?: boolean;
  /** Extra SUBSCRIBE headers (`activemq.exclusive`, `activemq.priority`, …). */
  headers?: Record<string, string>;
}

/** An async iterator of messages; `break` out of a `for await` does not unsubscribe. */
export interface ClientSubscription extends AsyncIterable<ReceivedMessage> {
  readonly id: string;
  readonly destination: string;
  /** The next message, or undefined if none arrives within `timeoutMs`, or once ended. */
  next(timeoutMs?: number): Promise<ReceivedMessage | undefined>;
  unsubscribe(): Promise<void>;
  /** Why the subscription ended, if it ended on an error (client closed or failed, restore refused). */
  readonly error: Error | undefined;
}

/** Buffers MESSAGE frames for one subscription until the application asks for them. */
export class SubscriptionQueue implements ClientSubscription {
  private buffer: ReceivedMessage[] = [];
  private waiting: Array<(m: ReceivedMessage | undefined) => void> = [];
  ended = false;
  error: Error | undefined;

  constructor(
    readonly id: string,
    readonly destination: string,
    /** The SUBSCRIBE headers, kept to re-subscribe after a reconnect. */
    readonly headers: Record<string, string>,
    private readonly doUnsubscribe: () => Promise<void>,
  ) {}

  push(m: ReceivedMessage): void {
    if (this.ended) return;
    const w = this.waiting.shift();
    if (w) w(m);
    else this.buffer.push(m);
  }

  /** Drops buffered messages from a lost connection: the broker redelivers them. */
  dropBuffered(): void {
    this.buffer = [];
  }

  end(error?: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.error = error;
    for (const w of this.waiting.splice(0)) w(undefined);
  }

  next(timeoutMs?: number): Promise<ReceivedMessage | undefined> {
    const m = this.buffer.shift();
    if (m || this.ended) return Promise.resolve(m);
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const w = (v: ReceivedMessage | undefined) => {
        if (timer) clearTimeout(timer);
        resolve(v);
      };
      this.waiting.push(w);
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.waiting = this.waiting.filter((x) => x !== w);
          resolve(undefined);
        }, timeoutMs);
      }
    });
  }

  unsubscribe(): Promise<void> {
    this.end();
    return this.doUnsubscribe();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<ReceivedMessage> {
    for (;;) {
      const m = await this.next();
      if (!m) return;
      yield m;
    }
  }
}
