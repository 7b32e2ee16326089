/**
 * The pure decisions of the database lease (ActiveMQ's LeaseDatabaseLocker, plus an epoch).
 * All durations: the lease's expiry lives on the database's clock and reaches us only as
 * "expires in N ms", so no broker compares its own clock with anyone else's.
 */

export interface LeaseTiming {
  /** How often the master renews (`lockKeepAlivePeriod`). */
  keepAliveMs: number;
  /** How long a renewal lasts (`lockAcquireSleepInterval`, as in ActiveMQ's lease locker). */
  leaseMs: number;
}

/** The lease row as a standby sees it. */
export interface LeaseView {
  holder: string | null;
  epoch: number;
  /** Database time until expiry; <= 0 = expired. */
  remainingMs: number;
}

/**
 * Why a timing cannot work, or undefined. The master renews every keepAliveMs and each renewal
 * lasts leaseMs, so a keep-alive that is not shorter than the lease lets it lapse between two
 * renewals and the slave takes over from a healthy master (ActiveMQ only warns about this).
 */
export function leaseTimingError(t: LeaseTiming): string | undefined {
  if (!(t.keepAliveMs > 0)) return `lockKeepAlivePeriod must be above 0 for the lease locker (the lease is only kept by renewing it); got ${t.keepAliveMs} ms`;
  if (!(t.leaseMs > 0)) return `lockAcquireSleepInterval (the lease length) must be above 0; got ${t.leaseMs} ms`;
  if (t.keepAliveMs >= t.leaseMs) {
    return (
      `lockKeepAlivePeriod (${t.keepAliveMs} ms) must be shorter than lockAcquireSleepInterval (${t.leaseMs} ms, the lease length): ` +
      `otherwise the master's lease lapses between renewals; e.g. lockKeepAlivePeriod="${Math.max(1, Math.floor(t.leaseMs / 3))}"`
    );
  }
  return undefined;
}

/** Slack after the lease's expiry before a standby tries again (the row is read, not watched). */
export const EXPIRY_MARGIN_MS = 25;
/** A standby never polls faster than this, even when the lease is about to expire. */
export const MIN_POLL_MS = 20;

/**
 * How long a standby that did not get the lease waits before the next attempt: until the
 * current lease would expire (so a dead master is replaced about one lease after its last
 * renewal), but at most one lease length, as ActiveMQ's slaves poll every
 * lockAcquireSleepInterval.
 */
export function standbyWaitMs(view: LeaseView, t: LeaseTiming): number {
  if (view.holder === null || view.remainingMs <= 0) return MIN_POLL_MS;
  return Math.min(t.leaseMs, Math.max(MIN_POLL_MS, view.remainingMs + EXPIRY_MARGIN_MS));
}

/**
 * The moment (on our monotonic clock) by which the master must have renewed again. A renewal
 * sent at `sentAtMs` set the expiry to (database now + leaseMs), and the database's now came
 * after our send, so `sentAtMs + leaseMs` is never later than the real expiry: a master that
 * stops serving then has stopped before any standby may take over.
 */
export function masterDeadlineMs(sentAtMs: number, t: LeaseTiming): number {
  return sentAtMs + t.leaseMs;
}

/** Retry delay after the database connection failed `attempt` times in a row (0 = first): doubles, capped. */
export function reconnectBackoffMs(attempt: number, t: LeaseTiming, baseMs = 100): number {
  const capMs = Math.min(5000, t.leaseMs);
  return Math.min(capMs, baseMs * 2 ** Math.min(attempt, 20));
}

/** An operator's reason for not being master. */
export function standbyReason(view: LeaseView, self: string): string {
  if (view.holder === null) return `the lease is free (epoch ${view.epoch}); taking it`;
  if (view.holder === self) return `re-taking our own lease (epoch ${view.epoch})`;
  if (view.remainingMs <= 0) return `the lease of ${view.holder} (epoch ${view.epoch}) expired ${-view.remainingMs} ms ago; taking it`;
  return `waiting for the lease held by ${view.holder} (epoch ${view.epoch}, expires in ${view.remainingMs} ms)`;
}
