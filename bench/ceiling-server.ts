/**
 * The ceiling probe: a bare STOMP listener that does nothing but make each SEND's body durable
 * and then answer its receipt. Bodies are written into a preallocated file, overwritten in
 * place (no block allocation, no size change, so fdatasync has no metadata to flush), and one
 * synchronous fdatasync from a batching loop covers every SEND that arrived since the last
 * one. That is the fastest way to durability measured on this machine (issue 3 "Targets"), so
 * `receipted-1p` against it is the physical limit brokers are compared with.
 *
 * Run as a child process by the bench (`fork`), it reports its port over IPC; it can also be
 * started in-process with `startCeilingServer`.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { StompParser } from '../src/protocol/stomp/parser.js';
import { encodeFrame } from '../src/protocol/stomp/encoder.js';
import { getHeader, type StompFrame } from '../src/protocol/stomp/frame.js';

const PARSER_LIMITS = { maxBodyBytes: 64 * 1024 * 1024, maxHeaderBytes: 64 * 1024, maxHeaders: 1000 };
const PREALLOC_CHUNK_BYTES = 1024 * 1024;

export interface CeilingServer {
  port: number;
  /** SENDs made durable so far, and the fdatasync calls that took. */
  stats(): { sends: number; syncs: number };
  close(): Promise<void>;
}

interface PendingReply {
  socket: net.Socket;
  receiptId: string | undefined;
  closeAfter: boolean;
}

/** Fills the file with zeros and syncs it, so later overwrites touch no filesystem metadata. */
function preallocate(fd: number, sizeBytes: number): void {
  const zeros = Buffer.alloc(PREALLOC_CHUNK_BYTES);
  for (let off = 0; off < sizeBytes; off += zeros.length) fs.writeSync(fd, zeros, 0, Math.min(zeros.length, sizeBytes - off), off);
  fs.fsyncSync(fd);
}

export async function startCeilingServer(opts: { file: string; preallocBytes?: number; port?: number }): Promise<CeilingServer> {
  const sizeBytes = opts.preallocBytes ?? 64 * 1024 * 1024;
  const fd = fs.openSync(opts.file, 'w+');
  preallocate(fd, sizeBytes);

  let offset = 0;
  let sends = 0;
  let syncs = 0;
  let bodies: Buffer[] = [];
  let bodyBytes = 0;
  let replies: PendingReply[] = [];
  let flushScheduled = false;

  const flush = () => {
    flushScheduled = false;
    const batch = bodies;
    const batchReplies = replies;
    bodies = [];
    replies = [];
    if (batch.length > 0) {
      if (offset + bodyBytes > sizeBytes) offset = 0;
      // Larger than the whole file: write what fits; a probe, not a store.
      const written = fs.writevSync(fd, batch, offset);
      offset += written;
      bodyBytes = 0;
      fs.fdatasyncSync(fd);
      syncs++;
      sends += batch.length;
    }
    const corked = new Set<net.Socket>();
    for (const r of batchReplies) {
      if (r.socket.destroyed) continue;
      if (!corked.has(r.socket)) {
        corked.add(r.socket);
        r.socket.cork();
      }
      if (r.receiptId !== undefined) r.socket.write(encodeFrame({ command: 'RECEIPT', headers: [['receipt-id', r.receiptId]] }, '1.2'));
      if (r.closeAfter) r.socket.end();
    }
    for (const s of corked) s.uncork();
  };
  const scheduleFlush = () => {
    if (flushScheduled) return;
    flushScheduled = true;
    // After the current I/O callbacks, so every SEND already read joins this batch.
    setImmediate(flush);
  };

  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.setNoDelay(true);
    const onFrame = (frame: StompFrame) => {
      switch (frame.command) {
        case 'CONNECT':
        case 'STOMP':
          socket.write(encodeFrame({ command: 'CONNECTED', headers: [['version', '1.2'], ['server', 'qmq-bench-ceiling'], ['heart-beat', '0,0']] }, '1.2'));
          parser.version = '1.2';
          return;
        case 'SEND': {
          if (offset + bodyBytes + frame.body.length <= sizeBytes || bodies.length === 0) {
            bodies.push(frame.body);
            bodyBytes += frame.body.length;
          } else {
            // The batch would run past the end of the file: flush it now, then start over at 0.
            flush();
            bodies.push(frame.body);
            bodyBytes += frame.body.length;
          }
          const receiptId = getHeader(frame, 'receipt');
          if (receiptId !== undefined) replies.push({ socket, receiptId, closeAfter: false });
          scheduleFlush();
          return;
        }
        case 'DISCONNECT':
          // STOMP 1.2 "DISCONNECT": the receipt says everything before it was processed.
          replies.push({ socket, receiptId: getHeader(frame, 'receipt'), closeAfter: true });
          scheduleFlush();
          return;
        default:
          return;
      }
    };
    const parser = new StompParser({ limits: PARSER_LIMITS, side: 'server', onFrame });
    socket.on('data', (chunk: Buffer) => {
      try {
        parser.push(chunk);
      } catch {
        socket.destroy();
      }
    });
    socket.on('error', () => socket.destroy());
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    stats: () => ({ sends, syncs }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          fs.closeSync(fd);
          resolve();
        });
        // Existing connections would keep the server open.
        for (const s of sockets) s.destroy();
      }),
  };
}

// As a child of the bench: start in a temp dir, report the port, exit when the parent says so.
if (process.argv[1] === fileURLToPath(import.meta.url) && process.send) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qmq-bench-ceiling-'));
  const removeDir = () => fs.rmSync(dir, { recursive: true, force: true });
  process.on('exit', removeDir);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(0));
  process.on('disconnect', () => process.exit(0));
  const server = await startCeilingServer({ file: path.join(dir, 'ceiling.dat') });
  process.send({ port: server.port });
}
