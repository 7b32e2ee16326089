/**
 * Micro-benchmark of the STOMP codec hot path: 1 KiB SEND frames as a producer sends them,
 * fed to the parser in 64 KiB chunks (what a busy socket delivers). Prints one JSON line per
 * scenario.
 */
import { StompParser } from '../src/protocol/stomp/parser.js';
import { encodeFrame } from '../src/protocol/stomp/encoder.js';

const FRAME_BODY_BYTES = 1024;
const CHUNK_BYTES = 64 * 1024;
const STREAM_FRAMES = 20_000;
const RUN_MS = Number(process.env.BENCH_MS ?? 1500);

const headers: Array<[string, string]> = [
  ['destination', '/queue/bench.orders'],
  ['persistent', 'true'],
  ['content-type', 'text/plain'],
  ['receipt', 'r-123456'],
  ['correlation-id', 'c-00042'],
];
const frame = encodeFrame({ command: 'SEND', headers, body: Buffer.alloc(FRAME_BODY_BYTES, 0x61) }, '1.2', { contentLength: true });
const stream = Buffer.concat(Array.from({ length: STREAM_FRAMES }, () => frame));
const chunks: Buffer[] = [];
for (let off = 0; off < stream.length; off += CHUNK_BYTES) chunks.push(stream.subarray(off, off + CHUNK_BYTES));

function benchParse(): number {
  let frames = 0;
  const parser = new StompParser({
    limits: { maxBodyBytes: 100 * 1024 * 1024, maxHeaderBytes: 64 * 1024, maxHeaders: 1000 },
    side: 'server',
    onFrame: () => {
      frames++;
    },
  });
  parser.version = '1.2';
  const start = process.hrtime.bigint();
  let elapsedMs = 0;
  while (elapsedMs < RUN_MS) {
    for (const c of chunks) parser.push(c);
    elapsedMs = Number(process.hrtime.bigint() - start) / 1e6;
  }
  return (frames / elapsedMs) * 1000;
}

function benchEncode(): number {
  const body = Buffer.alloc(FRAME_BODY_BYTES, 0x62);
  const msgHeaders: Array<[string, string]> = [
    ['destination', '/queue/bench.orders'],
    ['message-id', 'ID:host-1-1700000000000-1:1:1:1:1'],
    ['subscription', 'sub-0'],
    ['ack', 'ack-1'],
    ['priority', '4'],
    ['timestamp', '1700000000000'],
    ['expires', '0'],
  ];
  let frames = 0;
  let bytes = 0;
  const start = process.hrtime.bigint();
  let elapsedMs = 0;
  while (elapsedMs < RUN_MS) {
    for (let i = 0; i < 10_000; i++) {
      bytes += encodeFrame({ command: 'MESSAGE', headers: msgHeaders, body }, '1.2').length;
      frames++;
    }
    elapsedMs = Number(process.hrtime.bigint() - start) / 1e6;
  }
  if (bytes === 0) throw new Error('nothing encoded');
  return (frames / elapsedMs) * 1000;
}

console.log(JSON.stringify({ scenario: 'stomp-codec-parse', framesPerSec: Math.round(benchParse()), frameBytes: frame.length, chunkBytes: CHUNK_BYTES }));
console.log(JSON.stringify({ scenario: 'stomp-codec-encode', framesPerSec: Math.round(benchEncode()), bodyBytes: FRAME_BODY_BYTES }));
