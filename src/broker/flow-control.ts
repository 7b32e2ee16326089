/**
 * Producer flow control (ActiveMQ "Producer Flow Control" with sendFailIfNoSpace=false): bytes
 * of messages held in memory are counted per destination and broker-wide; while a count is over
 * its limit, a send is accepted but its promise (hence the STOMP receipt) waits until usage drops
 * back under, so producers slow down instead of the broker growing without bound.
 */
export class MemoryUsage {
  private usedBytes = 0;
  private waiters: Array<() => void> = [];
  private children = new Set<MemoryUsage>();

  constructor(
    readonly name: string,
    /** undefined = no limit of its own (the parent's still applies). */
    public limitBytes: number | undefined,
    private readonly parent?: MemoryUsage,
  ) {
    parent?.children.add(this);
  }

  get used(): number {
    return this.usedBytes;
  }

  add(bytes: number): void {
    this.usedBytes += bytes;
    this.parent?.add(bytes);
  }

  release(bytes: number): void {
    // Only hand back what is counted here: after dispose() the parent was already paid back.
    const n = Math.min(bytes, this.usedBytes);
    this.usedBytes -= n;
    if (n > 0) this.parent?.release(n);
    this.wake();
  }

  /** Detaches from the parent, handing back whatever is still counted here. */
  dispose(): void {
    if (this.usedBytes > 0) this.parent?.release(this.usedBytes);
    this.usedBytes = 0;
    this.parent?.children.delete(this);
    this.wakeAll();
  }

  isFull(): boolean {
    if (this.limitBytes !== undefined && this.limitBytes > 0 && this.usedBytes >= this.limitBytes) return true;
    return this.parent?.isFull() ?? false;
  }

  /** Resolves once this usage and every ancestor are under their limits. */
  waitForSpace(): Promise<void> {
    if (!this.isFull()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private wake(): void {
    if (this.waiters.length > 0 && !this.isFull()) this.wakeAll();
    // A release in the parent can free waiters of any child.
    for (const c of this.children) if (c.waiters.length > 0 && !c.isFull()) c.wakeAll();
  }

  private wakeAll(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }
}
