/**
 * Duplicate detection for resent messages (a failover client resends sends whose receipt was
 * lost): a producer's id and a rising per-producer sequence number identify a send. A send whose
 * sequence is at or below the highest one accepted is a duplicate; it is dropped but still
 * acknowledged, so the producer goes on. High-water marks of persistent sends are stored as
 * `producer-seq` ops in the same batch as the message, so they survive a restart.
 */
export class DuplicateFilter {
  private marks: Map<string, number>;
  /** Accepted sends whose store write has not settled yet, by producer and seq. */
  private readonly writing = new Map<string, Map<number, Promise<void>>>();

  constructor(recovered: ReadonlyMap<string, number> = new Map(), private readonly maxProducers = 10_000) {
    this.marks = new Map(recovered);
  }

  isDuplicate(producerId: string | undefined, seq: number | undefined): boolean {
    if (producerId === undefined || seq === undefined) return false;
    const mark = this.marks.get(producerId);
    return mark !== undefined && seq <= mark;
  }

  /**
   * The outcome of the original send while its store write is still in flight. A resend that
   * arrives meanwhile (the client lost its connection, not the broker) must get this answer and
   * not an immediate receipt: the write can still fail, and then the resend would be an
   * acknowledged message that is nowhere.
   */
  inFlight(producerId: string | undefined, seq: number | undefined): Promise<void> | undefined {
    if (producerId === undefined || seq === undefined) return undefined;
    return this.writing.get(producerId)?.get(seq);
  }

  /** Remembers an accepted send's store write until it settles, for `inFlight`. */
  track(producerId: string, seq: number, write: Promise<void>): void {
    let seqs = this.writing.get(producerId);
    if (!seqs) this.writing.set(producerId, (seqs = new Map()));
    seqs.set(seq, write);
    const forget = () => {
      if (seqs.get(seq) !== write) return;
      seqs.delete(seq);
      if (seqs.size === 0 && this.writing.get(producerId) === seqs) this.writing.delete(producerId);
    };
    write.then(forget, forget);
  }

  /** Records an accepted send; returns an undo for when its store write fails. */
  accept(producerId: string, seq: number): () => void {
    const before = this.marks.get(producerId);
    this.marks.delete(producerId); // re-insert: most recently used last
    this.marks.set(producerId, Math.max(seq, before ?? seq));
    if (this.marks.size > this.maxProducers) {
      const oldest = this.marks.keys().next().value;
      if (oldest !== undefined) this.marks.delete(oldest);
    }
    return () => {
      if (this.marks.get(producerId) !== seq) return;
      if (before === undefined) this.marks.delete(producerId);
      else this.marks.set(producerId, before);
    };
  }
}
