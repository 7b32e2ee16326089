import { QmqError } from '../util/errors.js';
import type { DestinationRef, Message } from './message.js';
import type { Consumer, InflightDelivery } from './subscription.js';

export interface TxSend {
  destinations: DestinationRef[];
  message: Message;
}

export interface TxAck {
  consumer: Consumer;
  delivery: InflightDelivery;
}

/** Work buffered inside one STOMP transaction until COMMIT (or dropped on ABORT). */
export class Transaction {
  readonly sends: TxSend[] = [];
  readonly acks: TxAck[] = [];
  readonly nacks: TxAck[] = [];
  constructor(readonly id: string) {}
}

/** A connection's open transactions (STOMP: transaction ids are scoped to the connection). */
export class TransactionTable {
  private readonly open = new Map<string, Transaction>();

  begin(txId: string): Transaction {
    // STOMP 1.2 BEGIN: the id must not name a transaction that is already open.
    if (this.open.has(txId)) throw new QmqError('TRANSACTION_EXISTS', `transaction "${txId}" is already open`);
    const tx = new Transaction(txId);
    this.open.set(txId, tx);
    return tx;
  }

  get(txId: string): Transaction {
    const tx = this.open.get(txId);
    if (!tx) throw new QmqError('UNKNOWN_TRANSACTION', `transaction "${txId}" is not open on this connection (never begun, or already committed or aborted)`);
    return tx;
  }

  /** Removes and returns an open transaction (COMMIT or ABORT). */
  take(txId: string): Transaction {
    const tx = this.get(txId);
    this.open.delete(txId);
    return tx;
  }

  takeAll(): Transaction[] {
    const all = [...this.open.values()];
    this.open.clear();
    return all;
  }
}
