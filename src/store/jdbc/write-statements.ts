import { destinationKey, type Message } from '../../broker/message.js';
import { durableQueueKey, type StoreOp } from '../message-store.js';
import { encodeMessage } from './message-codec.js';
import type { TableNames } from './schema.js';

export interface Statement {
  text: string;
  values: unknown[];
}

type AddOp = Extract<StoreOp, { type: 'add' }>;
type RemoveOp = Extract<StoreOp, { type: 'remove' }>;

/**
 * A batch of ops as SQL for one transaction, in a few statements whatever its size: ops are
 * gathered into one statement per kind (arrays through `unnest`), which is sound because ops
 * on different rows commute. Only a destination or subscription removal cuts the batch in two,
 * since it deletes whole store queues and must not take adds that come after it. Within a
 * segment, removes run before adds and an add followed by its own remove is dropped, which is
 * what applying the ops one by one would leave (an add then its remove: nothing; a remove then
 * an add: the row).
 */
export function writeStatements(t: TableNames, ops: readonly StoreOp[], epoch: number): Statement[] {
  const out: Statement[] = [];
  let seg = newSegment();
  for (const op of ops) {
    switch (op.type) {
      case 'add': {
        const key = `${op.seq}\u0000${op.queue}`;
        seg.adds.delete(key);
        seg.adds.set(key, op);
        seg.lastSeq.set(op.queue, Math.max(seg.lastSeq.get(op.queue) ?? 0, op.seq));
        break;
      }
      case 'remove': {
        seg.adds.delete(`${op.seq}\u0000${op.queue}`);
        seg.removes.push(op);
        break;
      }
      case 'producer-seq':
        seg.producers.delete(op.producerId);
        seg.producers.set(op.producerId, op.seq);
        break;
      case 'destination-remove':
      case 'subscription-remove':
        flush(t, seg, epoch, out);
        seg = newSegment();
        out.push(...single(t, op));
        break;
      default:
        seg.others.push(op);
    }
  }
  flush(t, seg, epoch, out);
  return out;
}

interface Segment {
  adds: Map<string, AddOp>;
  /** Highest seq added per queue, including adds removed again in the same batch (seqs never go back). */
  lastSeq: Map<string, number>;
  removes: RemoveOp[];
  producers: Map<string, number>;
  others: StoreOp[];
}

function newSegment(): Segment {
  return { adds: new Map(), lastSeq: new Map(), removes: [], producers: new Map(), others: [] };
}

function flush(t: TableNames, seg: Segment, epoch: number, out: Statement[]): void {
  if (seg.removes.length > 0) out.push(removeRun(t, seg.removes));
  if (seg.lastSeq.size > 0) out.push(addRun(t, [...seg.adds.values()], seg.lastSeq, epoch));
  if (seg.producers.size > 0) out.push(producerRun(t, seg.producers));
  for (const op of seg.others) out.push(...single(t, op));
}

function addRun(t: TableNames, adds: AddOp[], lastSeq: Map<string, number>, epoch: number): Statement {
  const containers: string[] = [];
  const seqs: number[] = [];
  const producers: (string | null)[] = [];
  const producerSeqs: (number | null)[] = [];
  const expirations: number[] = [];
  const priorities: number[] = [];
  const bodies: Buffer[] = [];
  for (const op of adds) {
    const m: Message = op.message;
    containers.push(op.queue);
    seqs.push(op.seq);
    producers.push(m.producerId ?? null);
    producerSeqs.push(m.producerSeq ?? null);
    expirations.push(m.expires);
    priorities.push(m.priority);
    bodies.push(encodeMessage(m));
  }
  return {
    text: `WITH ins AS (
             INSERT INTO ${t.msgs} (CONTAINER, SEQ, MSGID_PROD, MSGID_SEQ, EXPIRATION, PRIORITY, EPOCH, MSG)
             SELECT c, s, p, ps, e, pr, $7::bigint, m
               FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::bigint[], $6::int[], $8::bytea[]) AS r(c, s, p, ps, e, pr, m)
             ON CONFLICT (CONTAINER, SEQ) DO UPDATE SET MSGID_PROD = excluded.MSGID_PROD, MSGID_SEQ = excluded.MSGID_SEQ,
               EXPIRATION = excluded.EXPIRATION, PRIORITY = excluded.PRIORITY, EPOCH = excluded.EPOCH, MSG = excluded.MSG)
           INSERT INTO ${t.queues} (CONTAINER, LAST_SEQ) SELECT * FROM unnest($9::text[], $10::bigint[])
           ON CONFLICT (CONTAINER) DO UPDATE SET LAST_SEQ = GREATEST(${t.queues}.LAST_SEQ, excluded.LAST_SEQ)`,
    values: [containers, seqs, producers, producerSeqs, expirations, priorities, epoch, bodies, [...lastSeq.keys()], [...lastSeq.values()]],
  };
}

function removeRun(t: TableNames, run: RemoveOp[]): Statement {
  return {
    text: `DELETE FROM ${t.msgs} WHERE (CONTAINER, SEQ) IN (SELECT * FROM unnest($1::text[], $2::bigint[]))`,
    values: [run.map((op) => op.queue), run.map((op) => op.seq)],
  };
}

function producerRun(t: TableNames, last: Map<string, number>): Statement {
  return {
    text: `INSERT INTO ${t.producers} (PRODUCER_ID, SEQ, TOUCHED) SELECT p, s, clock_timestamp() FROM unnest($1::text[], $2::bigint[]) AS r(p, s)
           ON CONFLICT (PRODUCER_ID) DO UPDATE SET SEQ = excluded.SEQ, TOUCHED = excluded.TOUCHED`,
    values: [[...last.keys()], [...last.values()]],
  };
}

function single(t: TableNames, op: StoreOp): Statement[] {
  switch (op.type) {
    case 'destination-add':
      return [{ text: `INSERT INTO ${t.destinations} (DEST) VALUES ($1) ON CONFLICT DO NOTHING`, values: [destinationKey(op.destination)] }];
    case 'destination-remove': {
      const key = destinationKey(op.destination);
      return [
        { text: `DELETE FROM ${t.destinations} WHERE DEST = $1`, values: [key] },
        { text: `DELETE FROM ${t.msgs} WHERE CONTAINER = $1`, values: [key] },
        { text: `DELETE FROM ${t.queues} WHERE CONTAINER = $1`, values: [key] },
      ];
    }
    case 'subscription-add': {
      const s = op.subscription;
      return [
        {
          text: `INSERT INTO ${t.acks} (CLIENT_ID, SUB_NAME, CONTAINER, SUB_DEST, SELECTOR, NO_LOCAL) VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (CLIENT_ID, SUB_NAME) DO UPDATE SET CONTAINER = excluded.CONTAINER, SUB_DEST = excluded.SUB_DEST,
                   SELECTOR = excluded.SELECTOR, NO_LOCAL = excluded.NO_LOCAL`,
          values: [s.clientId, s.name, durableQueueKey(s.clientId, s.name), destinationKey(s.destination), s.selector ?? null, s.noLocal ?? null],
        },
      ];
    }
    case 'subscription-remove': {
      const key = durableQueueKey(op.clientId, op.name);
      return [
        { text: `DELETE FROM ${t.acks} WHERE CLIENT_ID = $1 AND SUB_NAME = $2`, values: [op.clientId, op.name] },
        { text: `DELETE FROM ${t.msgs} WHERE CONTAINER = $1`, values: [key] },
        { text: `DELETE FROM ${t.queues} WHERE CONTAINER = $1`, values: [key] },
      ];
    }
    case 'tx-commit':
      return [{ text: `INSERT INTO ${t.transactions} (TX_ID) VALUES ($1) ON CONFLICT DO NOTHING`, values: [op.txId] }];
    default:
      throw new Error(`unexpected op ${op.type} outside a segment`);
  }
}
