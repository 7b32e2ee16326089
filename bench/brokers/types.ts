/** What a scenario needs to know about the broker it runs against. */
export interface BenchBroker {
  /** Printed in the `broker` field: "quorummq", "activemq", or the --url as given. */
  readonly label: string;
  readonly host: string;
  readonly port: number;
  /** The OpenWire port (ActiveMQ's Java clients), for `npm run compat -- --openwire`. */
  readonly openwirePort?: number;
  readonly login?: string;
  readonly passcode?: string;
  /** Extra facts for the broker's description line (e.g. QuorumMQ's store kind). */
  readonly info?: Record<string, string>;
  /** The broker's PID when the bench knows it, so RSS can be read. */
  pid(): number | undefined;
  /**
   * Present only for brokers the bench started: `kill -9`, then start again on the same data
   * dir and port. Resolves once the new process has been launched, not when it is ready.
   */
  crashAndRelaunch?(): Promise<void>;
  /** Throws (with the tail of the broker's log) if the process the bench started has exited. */
  assertRunning(): void;
  stop(): Promise<void>;
}

/** Keeps the last `maxChars` of a child's output, for error messages. */
export class OutputTail {
  private text = '';
  constructor(private readonly maxChars = 8_000) {}
  push(chunk: Buffer | string): void {
    this.text += chunk.toString();
    if (this.text.length > this.maxChars * 2) this.text = this.text.slice(-this.maxChars);
  }
  toString(): string {
    return this.text.slice(-this.maxChars);
  }
}
