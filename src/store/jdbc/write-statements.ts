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
type ProducerOp = Extract<StoreOp, { type: 'producer-seq' }>;

/**
 * A batch of ops as SQL for one transaction. Runs of adds, removes and producer marks become
 * one statement each (arrays through `unnest`), so a group of many sends costs a handful of
 * round trips; other ops keep their place in the order, so an add followed by its remove in
 * the same batch still leaves nothing.
 */
export function writeStatements(t: TableNames, ops: readonly StoreOp[], epoch: number): Statement[] {
  const out: Statement[] = [];
  let i = 0;
  while (i < ops.length) {
    const type = ops[i].type;
    let j = i;
    while (j < ops.length && ops[j].type === type) j++;
    const run = ops.slice(i, j);
    i = j;
    switch (type) {
      case 'add':
        out.push(addRun(t, run as AddOp[], epoch));
        break;
      case 'remove':
        out.push(removeRun(t, run as RemoveOp[]));
        break;
      case 'producer-seq':
        out.push(producerRun(t, run as ProducerOp[]));
        break;
      default:
        for (const op of run) out.push(...single(t, op));
    }
  }
  return out;
}

function addRun(t: TableNames, run: AddOp[], epoch: number): Statement {
  // ON CONFLICT may touch a row only once per statement: the last add of a (queue, seq) wins.
  const byKey = new Map<string, AddOp>();
  for (const op of run) byKey.set(`${op.seq}\u0000${op.queue}`, op);
  const containers: string[] = [];
  const seqs: number[] = [];
  const producers: (string | null)[] = [];
  const producerSeqs: (number | null)[] = [];
  const expirations: number[] = [];
  const priorities: number[] = [];
  const bodies: Buffer[] = [];
  const lastSeq = new Map<string, number>();
  for (const op of byKey.values()) {
    const m: Message = op.message;
    containers.push(op.queue);
    seqs.push(op.seq);
    producers.push(m.producerId ?? null);
    producerSeqs.push(m.producerSeq ?? null);
    expirations.push(m.expires);
    priorities.push(m.priority);
    bodies.push(encodeMessage(m));
    lastSeq.set(op.queue, Math.max(lastSeq.get(op.queue) ?? 0, op.seq));
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

function producerRun(t: TableNames, run: ProducerOp[]): Statement {
  const last = new Map<string, number>();
  for (const op of run) {
    last.delete(op.producerId);
    last.set(op.producerId, op.seq);
  }
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
      throw new Error(`unexpected op ${op.type} outside a run`);
  }
}
