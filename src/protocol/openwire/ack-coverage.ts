/**
 * Which of a consumer's outstanding deliveries one OpenWire MessageAck settles, and how. Pure: the
 * session holds the deliveries and does the settling. ActiveMQ MessageAck.ackType values.
 */
export const DELIVERED_ACK = 0;
export const POISON_ACK = 1;
export const STANDARD_ACK = 2;
export const REDELIVERED_ACK = 3;
export const INDIVIDUAL_ACK = 4;

export type AckPlan =
  /** Nothing to settle: redelivery notices, or an ack of a delivery this connection does not hold (after a failover). */
  | { action: 'none' }
  /** The client holds these but has not acknowledged them: free their prefetch slots. */
  | { action: 'release-window'; last: string }
  /** Dead-letter these now: the client's redelivery policy gave up on them. */
  | { action: 'poison'; ids: string[] }
  /** Acknowledge these (inside `txId` when given). */
  | { action: 'ack'; ids: string[] };

/**
 * `outstanding` is the consumer's deliveries in delivery order, each with the transaction whose
 * ack already covers it. Individual and poison acks name one message; any other type covers the
 * named one and every earlier delivery, as a JMS client acks in order. Deliveries already acked
 * in a transaction are not acked twice.
 */
export function planAck(ackType: number, last: string | undefined, outstanding: ReadonlyArray<readonly [id: string, txAcked: string | undefined]>): AckPlan {
  const known = last !== undefined && outstanding.some(([id]) => id === last);
  if (!known || ackType === REDELIVERED_ACK) return { action: 'none' };
  if (ackType === DELIVERED_ACK) return { action: 'release-window', last };
  const single = ackType === INDIVIDUAL_ACK || ackType === POISON_ACK;
  const ids: string[] = [];
  for (const [id, txAcked] of outstanding) {
    if ((single ? id === last : true) && txAcked === undefined) ids.push(id);
    if (id === last) break;
  }
  return ackType === POISON_ACK ? { action: 'poison', ids } : { action: 'ack', ids };
}
