/**
 * Duplicate detection for resent messages (a failover client resends sends whose receipt was
 * lost): a producer's id and a rising per-producer sequence number identify a send. A send whose
 * sequence is at or below the highest one accepted is a duplicate; it is dropped but still
 * acknowledged, so the producer goes on. High-water marks of persistent sends are stored as
 * `producer-seq` ops in the same batch as the message, so they survive a restart.
 */
export class DuplicateFilter {
  private marks: Map<string, number>;

  constructor(recovered: ReadonlyMap<string, number> = new Map(), private readonly maxProducers = 10_000) {
    this.marks = new Map(recovered);
  }

  isDuplicate(producerId: string | undefined, seq: number | undefined): boolean {
    if (producerId === undefined || seq === undefined) return false;
    const mark = this.marks.get(producerId);
    return mark !== undefined && seq <= mark;
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
