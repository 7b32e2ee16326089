/**
 * The watchdog's decision, apart from the ZooKeeper client so it can be driven by a fake clock.
 *
 * Why it exists: node-zookeeper-client stays SYNC_CONNECTED while its server is frozen (the TCP
 * connection stays open; upstream issue #13), so nothing tells a master it may already have been
 * replaced. We probe the server ourselves and count silence from the last answer:
 * - SUSPENDED after 2/3 of the granted session timeout: the server side cannot have expired the
 *   session yet, so a master that stops serving here stops before anyone else can be elected
 *   (the order DESIGN §4 fencing needs).
 * - LOST after the whole timeout, or when the client reports `expired`: the session must be
 *   presumed gone, and the owner starts a new one.
 */
export type LivenessState = 'connected' | 'suspended' | 'lost';

export type LivenessTransition =
  | { to: 'suspended'; silentMs: number; why: string }
  | { to: 'reconnected'; silentMs: number }
  | { to: 'lost'; silentMs: number; why: string };

export class SessionLiveness {
  private lastAnswerAtMs: number;
  private current: LivenessState = 'connected';
  private disconnected = false;

  constructor(
    readonly sessionTimeoutMs: number,
    nowMs: number,
  ) {
    this.lastAnswerAtMs = nowMs;
  }

  get state(): LivenessState {
    return this.current;
  }

  /** How often to probe: six probes per session timeout leave four inside the 2/3 window. */
  get probeIntervalMs(): number {
    return Math.max(50, Math.floor(this.sessionTimeoutMs / 6));
  }

  get suspendAfterMs(): number {
    return Math.floor((this.sessionTimeoutMs * 2) / 3);
  }

  silentMs(nowMs: number): number {
    return nowMs - this.lastAnswerAtMs;
  }

  /**
   * The server answered a request (any request proves the session is being served). The proof
   * dates from when the request was SENT, not from when the answer arrived: an answer that sat in
   * a socket buffer while this process was paused says nothing about the session after the
   * request left, and ZooKeeper may have expired it since (a stale master must not think its
   * session fresh because of it).
   */
  onAnswer(nowMs: number, sentAtMs: number = nowMs): LivenessTransition | null {
    if (this.current === 'lost') return null;
    const silentMs = this.silentMs(nowMs);
    this.lastAnswerAtMs = Math.max(this.lastAnswerAtMs, Math.min(sentAtMs, nowMs));
    if (this.current === 'suspended' && !this.disconnected) {
      this.current = 'connected';
      return { to: 'reconnected', silentMs };
    }
    return null;
  }

  /** The client's TCP connection dropped; it will try the other servers within the session. */
  onDisconnected(nowMs: number): LivenessTransition | null {
    this.disconnected = true;
    if (this.current !== 'connected') return null;
    this.current = 'suspended';
    return { to: 'suspended', silentMs: this.silentMs(nowMs), why: 'the connection to ZooKeeper dropped' };
  }

  /** The client re-established its session on some server. */
  onConnected(nowMs: number): LivenessTransition | null {
    this.disconnected = false;
    return this.onAnswer(nowMs);
  }

  onExpired(nowMs: number): LivenessTransition | null {
    if (this.current === 'lost') return null;
    this.current = 'lost';
    return { to: 'lost', silentMs: this.silentMs(nowMs), why: 'ZooKeeper expired the session' };
  }

  /** Called every probe interval. */
  /**
   * Whether the session is certainly still alive now: heard from within 2/3 of the timeout. A
   * master checks this at the moment it acknowledges a send, whatever order the event loop ran
   * its timers and socket reads in after a pause.
   */
  isFresh(nowMs: number): boolean {
    return this.current !== 'lost' && this.silentMs(nowMs) < this.suspendAfterMs;
  }

  check(nowMs: number): LivenessTransition | null {
    const silentMs = this.silentMs(nowMs);
    if (this.current !== 'lost' && silentMs >= this.sessionTimeoutMs) {
      this.current = 'lost';
      return { to: 'lost', silentMs, why: `no answer from ZooKeeper for ${silentMs} ms (session timeout ${this.sessionTimeoutMs} ms)` };
    }
    if (this.current === 'connected' && silentMs >= this.suspendAfterMs) {
      this.current = 'suspended';
      return { to: 'suspended', silentMs, why: `no answer from ZooKeeper for ${silentMs} ms (2/3 of the session timeout)` };
    }
    return null;
  }
}
