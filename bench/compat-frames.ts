/**
 * What `bench/compat-activemq.ts` compares: the frames two brokers answer to the same bytes,
 * reduced to what a client can rely on. Pure, so the reduction has a unit test.
 *
 * Values that differ by nature (ids, times, server names, ack tokens, the run's unique names)
 * are masked; ERROR frames count by their presence, receipt and whether the connection closed,
 * not by their wording; QuorumMQ's own extension headers are left out. RECEIPTs are compared
 * as a set, because a broker may send a RECEIPT before or after a MESSAGE it does not order
 * against. Frames are split here rather than with protocol/stomp/parser.ts, so that the
 * comparison does not rest on the code it is checking.
 */

export interface RawFrame {
  command: string;
  headers: [string, string][];
  body: Buffer;
}

/** Splits complete frames off the front of `buf` (EOLs between frames are heart-beats). */
export function splitFrames(buf: Buffer): { frames: RawFrame[]; rest: Buffer } {
  const frames: RawFrame[] = [];
  let rest = buf;
  for (;;) {
    let i = 0;
    while (i < rest.length && (rest[i] === 0x0a || rest[i] === 0x0d)) i++;
    rest = rest.subarray(i);
    const headEnd = rest.indexOf('\n\n');
    if (headEnd < 0) break;
    const lines = rest.subarray(0, headEnd).toString('utf8').split('\n').map((l) => l.replace(/\r$/, ''));
    const headers = lines.slice(1).map((l): [string, string] => {
      const k = l.indexOf(':');
      return k < 0 ? [l, ''] : [l.slice(0, k), l.slice(k + 1)];
    });
    const length = headers.find(([k]) => k === 'content-length');
    const bodyStart = headEnd + 2;
    const end = length ? bodyStart + Number(length[1]) : rest.indexOf(0, bodyStart);
    if (end < 0 || rest.length < end + 1) break;
    frames.push({ command: lines[0], headers, body: Buffer.from(rest.subarray(bodyStart, end)) });
    rest = rest.subarray(end + 1);
  }
  return { frames, rest: Buffer.from(rest) };
}

/** Headers whose values differ between any two brokers, or between two runs of one. */
const MASKED = new Set(['message-id', 'session', 'server', 'timestamp', 'ack', 'originalExpiration', 'dlqDeliveryFailureCause']);
/** Headers one broker adds that carry no behaviour a client of both could use. */
const LEFT_OUT = new Set(['content-length', 'redelivery-count', 'qmq-max-body-bytes']);

/** One frame as compared: command, sorted headers (masked, the run's tag replaced), body. */
export function normalizeFrame(f: RawFrame, tag: string): string {
  const unTag = (s: string) => s.split(tag).join('<tag>');
  if (f.command === 'ERROR') {
    const receipt = f.headers.find(([k]) => k === 'receipt-id');
    return `ERROR${receipt ? ` receipt-id=${receipt[1]}` : ''}`;
  }
  const headers = f.headers
    .filter(([k]) => !LEFT_OUT.has(k) && !k.startsWith('qmq-'))
    .map(([k, v]) => `${k}=${MASKED.has(k) || (k === 'expires' && v !== '0') ? '*' : unTag(v)}`)
    .sort();
  const body = f.body.length > 200 ? `<${f.body.length} bytes>` : JSON.stringify(unTag(f.body.toString('utf8')));
  return `${f.command} {${headers.join(', ')}} ${body}`;
}

/** A scenario's transcript: a step label, a frame one of its connections received, or a note. */
export type TranscriptLine = { step: string } | { conn: string; frame: RawFrame } | { note: string };

/**
 * A transcript as compared. Per step: each connection's frames in arrival order (connections in
 * name order, since two sockets have no order between them), or all sorted when the scenario
 * says their order is not defined; then the step's RECEIPTs, sorted.
 */
export function normalizeTranscript(lines: readonly TranscriptLine[], tag: string, unordered = false): string[] {
  const out: string[] = [];
  let frames: { conn: string; text: string }[] = [];
  let receipts: string[] = [];
  const flush = () => {
    const texts = frames.map((f, i) => ({ ...f, i })).sort((a, b) => (a.conn < b.conn ? -1 : a.conn > b.conn ? 1 : a.i - b.i)).map((f) => `${f.conn}: ${f.text}`);
    out.push(...(unordered ? texts.sort() : texts), ...receipts.sort());
    frames = [];
    receipts = [];
  };
  for (const l of lines) {
    if ('step' in l) {
      flush();
      out.push(`-- ${l.step}`);
    } else if ('note' in l) {
      flush();
      out.push(l.note);
    } else if (l.frame.command === 'RECEIPT') receipts.push(`${l.conn}: ${normalizeFrame(l.frame, tag)}`);
    else frames.push({ conn: l.conn, text: normalizeFrame(l.frame, tag) });
  }
  flush();
  return out;
}

export interface Comparison {
  scenario: string;
  same: boolean;
  /** Set when the scenario is a difference we keep on purpose; the reason is printed. */
  expected?: string;
  ours: string[];
  theirs: string[];
}

export function compare(scenario: string, ours: string[], theirs: string[], expected?: string): Comparison {
  const same = ours.length === theirs.length && ours.every((l, i) => l === theirs[i]);
  return { scenario, same, ...(same || expected === undefined ? {} : { expected }), ours, theirs };
}
