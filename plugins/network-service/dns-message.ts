/**
 * The small part of DNS (RFC 1035) the embedded resolver needs: read a
 * query's header and first question, and write an answer with A records
 * (or an empty/NXDOMAIN/SERVFAIL one). Anything the resolver does not
 * answer itself is forwarded as raw bytes, so nothing else is parsed.
 */
export const TYPE_A = 1;
export const TYPE_AAAA = 28;
export const TYPE_PTR = 12;
export const CLASS_IN = 1;
export const RCODE_NOERROR = 0;
export const RCODE_SERVFAIL = 2;
export const RCODE_NXDOMAIN = 3;

export interface DnsQuestion {
  name: string;
  type: number;
  cls: number;
}

export interface DnsQuery {
  id: number;
  flags: number;
  question: DnsQuestion;
  /** Bytes of the question section (copied into the answer). */
  questionBytes: Buffer;
}

/** Parses a query; undefined when it is not a well-formed standard query with one question. */
export function parseQuery(buf: Buffer): DnsQuery | undefined {
  if (buf.length < 12) return undefined;
  const id = buf.readUInt16BE(0);
  const flags = buf.readUInt16BE(2);
  const qd = buf.readUInt16BE(4);
  if (flags & 0x8000 || qd !== 1 || ((flags >> 11) & 0xf) !== 0) return undefined;
  const labels: string[] = [];
  let off = 12;
  for (;;) {
    if (off >= buf.length) return undefined;
    const len = buf[off]!;
    if (len === 0) { off++; break; }
    if (len > 63 || off + 1 + len > buf.length) return undefined; // compression never appears in a question we accept
    labels.push(buf.toString('latin1', off + 1, off + 1 + len));
    off += 1 + len;
  }
  if (off + 4 > buf.length) return undefined;
  const type = buf.readUInt16BE(off);
  const cls = buf.readUInt16BE(off + 2);
  return { id, flags, question: { name: labels.join('.'), type, cls }, questionBytes: buf.subarray(12, off + 4) };
}

/** An answer to `q`: A records for `ipv4` (TTL 600 as libnetwork's resolver), with `rcode`. */
export function buildAnswer(q: DnsQuery, rcode: number, ipv4: string[] = [], ttl = 600): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(q.id, 0);
  // QR, opcode 0, AA, RD copied from the query, RA.
  header.writeUInt16BE(0x8000 | 0x0400 | (q.flags & 0x0100) | 0x0080 | (rcode & 0xf), 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(ipv4.length, 6);
  const answers = ipv4.map((ip) => {
    const rr = Buffer.alloc(16);
    rr.writeUInt16BE(0xc00c, 0); // pointer to the question's name
    rr.writeUInt16BE(TYPE_A, 2);
    rr.writeUInt16BE(CLASS_IN, 4);
    rr.writeUInt32BE(ttl, 6);
    rr.writeUInt16BE(4, 10);
    ip.split('.').forEach((o, i) => rr.writeUInt8(Number(o), 12 + i));
    return rr;
  });
  return Buffer.concat([header, q.questionBytes, ...answers]);
}

/** A query for `name` (used by tests and by nothing on the wire path). */
export function buildQuery(id: number, name: string, type = TYPE_A): Buffer {
  const parts = name.replace(/\.$/, '').split('.').filter(Boolean).map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')]));
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2);
  header.writeUInt16BE(1, 4);
  const tail = Buffer.alloc(5);
  tail.writeUInt16BE(type, 1);
  tail.writeUInt16BE(CLASS_IN, 3);
  return Buffer.concat([header, ...parts, tail]);
}

/** Reads the A records of an answer (tests). */
export function parseAnswerIps(buf: Buffer): { rcode: number; ips: string[] } {
  const rcode = buf.readUInt16BE(2) & 0xf;
  const an = buf.readUInt16BE(6);
  let off = 12;
  while (buf[off] !== 0) off += 1 + buf[off]!;
  off += 5;
  const ips: string[] = [];
  for (let i = 0; i < an; i++) {
    off += (buf[off]! & 0xc0) === 0xc0 ? 2 : skipName(buf, off) - off;
    const type = buf.readUInt16BE(off);
    const len = buf.readUInt16BE(off + 8);
    if (type === TYPE_A && len === 4) ips.push([...buf.subarray(off + 10, off + 14)].join('.'));
    off += 10 + len;
  }
  return { rcode, ips };
}

function skipName(buf: Buffer, off: number): number {
  while (buf[off] !== 0) {
    if ((buf[off]! & 0xc0) === 0xc0) return off + 2;
    off += 1 + buf[off]!;
  }
  return off + 1;
}
