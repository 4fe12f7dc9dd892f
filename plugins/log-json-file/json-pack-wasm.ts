/**
 * The hot loop of the json-file reader as a small WebAssembly function with
 * 128-bit SIMD. A log written by Berth is mostly runs of lines laid out as
 *
 *   {"log":"<plain text>\n","stream":"stdout","time":"<same time as the line before>"}
 *
 * (the output pump stamps every line of one read with one time). One call
 * takes a whole run of them: the text is checked 16 bytes at a time for
 * anything the JavaScript decoder must see (an escape other than the final
 * `\n`, a control byte, a byte from 0x80 whose UTF-8 needs checking), the
 * layout is checked with a few 8-byte compares, the time compared with the
 * reference the caller parsed and accepted (since/until) for the line before,
 * and the text moved down, framed: its 8-byte stdcopy header, the text, its
 * newline, the next line's header... `docker logs` sends the run as it is
 * (LogLineBatch `framed`). In JavaScript this was ~300 ns a line across decode, time check
 * and framing, and the daemon's CPU took the stock CLI's own CPU on a
 * 2-core machine (bench/containers.mjs, docker logs). Every other line —
 * another time, an escape, attrs, another layout, a torn line — is left to
 * the caller, which decodes it as before and packs it the same way
 * (block-decoder.ts; block-decoder.test.ts compares both paths).
 *
 * Text form (assembled below; no toolchain in the build):
 *
 *   (func $pack (param $pos $end $out $ref $rlen $starts $ends $flags $max $base i32) (result i32)
 *     (local $n $p $m $q $r $nl $f $e $k i32) (local $v v128)
 *     (block $done (loop $line
 *       (br_if $done (n >= max))
 *       (br_if $done (pos + 8 > end))
 *       (br_if $done (i64.load pos != `{"log":"`))
 *       p = pos + 8
 *       (block $found (loop $scan                       ;; the first '"', '\', byte < 0x20 or >= 0x80
 *         (br_if $done (p >= end))
 *         m = (i8x16.bitmask (v < 0x20 | v <s 0 | v == '"' | v == '\'))   with v = (v128.load p)
 *         (if (p + 16 > end) (then m &= (1 << (end - p)) - 1))
 *         (br_if $found m)
 *         p += 16 (br $scan)))
 *       q = p + ctz m ; r = q ; nl = 0
 *       (if (load8 q != '"') (then                       ;; else only `\n"` ends the text
 *         (br_if $done (load8 q != '\'))  (br_if $done (q + 3 > end))
 *         (br_if $done (load16 (q + 1) != `n"`))
 *         nl = 1 ; r = q + 2))
 *       (br_if $done (r + 28 > end))                     ;; `","stream":"stdout"` or stderr, `,"time":"`
 *       (br_if $done (i64.load r != `","strea`)) (br_if $done (i32.load (r + 8) != `m":"`))
 *       (br_if $done (i32.load (r + 11) != `"std`))
 *       k = (i32.load (r + 15)) ; f = 0
 *       (if (k != `out"`) (then (br_if $done (k != `err"`)) f = STDERR))
 *       (br_if $done (i64.load (r + 19) != `,"time":`)) (br_if $done (load8 (r + 27) != '"'))
 *       e = r + 28 ; the newline found 16 bytes at a time as above ($done when there is none)
 *       (br_if $done (load16 (e - 2) != `"}`))
 *       (br_if $done (e - 2 - (r + 28) != rlen)) (br_if $done (rlen < 16))
 *       the time compared with ref 16 bytes at a time, then its last 16 ($done on a difference)
 *       k = q - (pos + 8)                                ;; the text's length
 *       (memory.copy (out + 8) (pos + 8) k)
 *       p = out + 8 + k
 *       starts[n] = out + 8 - base ; ends[n] = p - base ; (if nl (then (store8 p '\n')))
 *       (i32.store out (1 + f)) (i32.store (out + 4) (bswap (k + nl)))   ;; stdcopy header
 *       flags[n] = f | (PARTIAL - (nl << 1))
 *       out = p + nl ; n += 1 ; pos = e + 1
 *       (br $line)))
 *     (i32.store 0 pos) (i32.store 4 out)                ;; where the caller goes on
 *     n)
 *
 * Packing never overtakes the reading: a line's packed form (8 + text + 1)
 * is shorter than the line itself, so `out` stays at or before `pos`.
 */

import { LOG_LINE_PARTIAL, LOG_LINE_STDERR } from '../../kernel/index.js';
import {
  BLOCK, BR, BR_IF, bump, compiledOnce, END, GET, I32, i32, I32_ADD, I32_AND, I32_CTZ, I32_EQZ, I32_GE_U, I32_GT_U, I32_LOAD, I32_LOAD16_U, I32_LOAD8_U, I32_LT_U,
  I32_MUL, I32_NE, I32_OR, I32_SHL, I32_SHR_U, I32_STORE, I32_STORE8, I32_SUB, I64_CONST, I64_LOAD, I64_NE, I8X16_ALL_TRUE, I8X16_BITMASK, I8X16_EQ, I8X16_LT_S,
  I8X16_LT_U, IF, instantiate, LOOP, mem, MEMORY_COPY, SET, SIMD, sleb, V128, V128_CONST, V128_LOAD, V128_OR, VOID,
} from '../../lib/wasm-asm.js';

// The header's stream byte is 1 + this flag: stdout 1, stderr 2.
if (LOG_LINE_STDERR !== 1) throw new Error('json-pack-wasm: LOG_LINE_STDERR must be 1');

/** Bytes before each packed line: its stdcopy header. */
export const PACK_ROOM = 8;

// Params 0-9, then locals.
const POS = 0, END_ = 1, OUT = 2, REF = 3, RLEN = 4, STARTS = 5, ENDS = 6, FLAGS = 7, MAX = 8, BASE = 9;
const N = 10, P = 11, M = 12, Q = 13, R = 14, NL = 15, F = 16, E = 17, K = 18, V = 19;

const le64 = (text: string) => sleb(BigInt.asIntN(64, Buffer.from(text, 'latin1').readBigUInt64LE(0)));
const le32 = (text: string) => i32(Buffer.from(text, 'latin1').readInt32LE(0));
const le16 = (text: string) => i32(Buffer.from(text, 'latin1').readUInt16LE(0));

const get = (...locals: number[]) => locals.flatMap((l) => [GET, l]);
const plus = (l: number, n: number) => [GET, l, ...i32(n), I32_ADD];
const splat = (byte: number) => [SIMD, V128_CONST, ...new Array<number>(16).fill(byte)];
const vcmp = (op: number, byte: number) => [GET, V, ...splat(byte), SIMD, op];
const vor = [SIMD, V128_OR];
/** `m` masked to the lanes before `end` when the 16 bytes at `at` run past it. */
const clip = (at: number) => [
  ...plus(at, 16), GET, END_, I32_GT_U, IF, VOID,
  GET, M, ...i32(1), GET, END_, GET, at, I32_SUB, I32_SHL, ...i32(1), I32_SUB, I32_AND, SET, M,
  END,
];
/**
 * From local `at`, 16 bytes at a time, the first byte `lanes` (a lane mask
 * of the 16 bytes, loaded into $v) picks: leaves its address. None before
 * the end: $done (the line is torn, or not this function's).
 */
const search = (at: number, lanes: number[]) => [
  BLOCK, VOID, LOOP, VOID, // 0 the loop, 1 found, 2 $line, 3 $done
  ...get(at, END_), I32_GE_U, BR_IF, 3,
  GET, at, SIMD, V128_LOAD, ...mem, SET, V,
  ...lanes, SIMD, I8X16_BITMASK, SET, M,
  ...clip(at),
  GET, M, BR_IF, 1,
  ...bump(at, 16),
  BR, 0,
  END, END,
  ...get(at, M), I32_CTZ, I32_ADD,
];
/** Are the 16 bytes at a and b equal: leaves a boolean. */
const same16 = (a: number[], b: number[]) => [...a, SIMD, V128_LOAD, ...mem, ...b, SIMD, V128_LOAD, ...mem, SIMD, I8X16_EQ, SIMD, I8X16_ALL_TRUE];
/** Local `l` with its bytes reversed (for a big-endian store). */
const bswap = (l: number) => [
  GET, l, ...i32(24), I32_SHL,
  GET, l, ...i32(0xff00), I32_AND, ...i32(8), I32_SHL, I32_OR,
  GET, l, ...i32(8), I32_SHR_U, ...i32(0xff00), I32_AND, I32_OR,
  GET, l, ...i32(24), I32_SHR_U, I32_OR,
];
/** `arr[n]` (4-byte elements) = what `value` leaves. */
const store32At = (arr: number, value: number[]) => [GET, arr, GET, N, ...i32(4), I32_MUL, I32_ADD, ...value, I32_STORE, ...mem];

const body = [
  BLOCK, VOID, LOOP, VOID, // depth 0 $line, 1 $done
  ...get(N, MAX), I32_GE_U, BR_IF, 1,
  ...plus(POS, 8), GET, END_, I32_GT_U, BR_IF, 1,
  GET, POS, I64_LOAD, ...mem, I64_CONST, ...le64('{"log":"'), I64_NE, BR_IF, 1,
  ...plus(POS, 8), SET, P,
  ...search(P, [...vcmp(I8X16_LT_U, 0x20), ...vcmp(I8X16_LT_S, 0x00), ...vor, ...vcmp(I8X16_EQ, 0x22), ...vor, ...vcmp(I8X16_EQ, 0x5c), ...vor]), SET, Q,
  GET, Q, SET, R,
  ...i32(0), SET, NL,
  GET, Q, I32_LOAD8_U, ...mem, ...i32(0x22), I32_NE, IF, VOID, // 0 if, 1 $line, 2 $done
  GET, Q, I32_LOAD8_U, ...mem, ...i32(0x5c), I32_NE, BR_IF, 2,
  ...plus(Q, 3), GET, END_, I32_GT_U, BR_IF, 2,
  ...plus(Q, 1), I32_LOAD16_U, ...mem, ...le16('n"'), I32_NE, BR_IF, 2,
  ...i32(1), SET, NL,
  ...plus(Q, 2), SET, R,
  END,
  ...plus(R, 28), GET, END_, I32_GT_U, BR_IF, 1,
  GET, R, I64_LOAD, ...mem, I64_CONST, ...le64('","strea'), I64_NE, BR_IF, 1,
  ...plus(R, 8), I32_LOAD, ...mem, ...le32('m":"'), I32_NE, BR_IF, 1,
  ...plus(R, 11), I32_LOAD, ...mem, ...le32('"std'), I32_NE, BR_IF, 1,
  ...plus(R, 15), I32_LOAD, ...mem, SET, K,
  ...i32(0), SET, F,
  GET, K, ...le32('out"'), I32_NE, IF, VOID, // 0 if, 1 $line, 2 $done
  GET, K, ...le32('err"'), I32_NE, BR_IF, 2,
  ...i32(LOG_LINE_STDERR), SET, F,
  END,
  ...plus(R, 19), I64_LOAD, ...mem, I64_CONST, ...le64(',"time":'), I64_NE, BR_IF, 1,
  ...plus(R, 27), I32_LOAD8_U, ...mem, ...i32(0x22), I32_NE, BR_IF, 1,
  ...plus(R, 28), SET, E,
  ...search(E, vcmp(I8X16_EQ, 0x0a)), SET, E,
  GET, E, ...i32(2), I32_SUB, I32_LOAD16_U, ...mem, ...le16('"}'), I32_NE, BR_IF, 1,
  GET, E, ...i32(2), I32_SUB, ...plus(R, 28), I32_SUB, GET, RLEN, I32_NE, BR_IF, 1,
  GET, RLEN, ...i32(16), I32_LT_U, BR_IF, 1,
  ...i32(0), SET, K,
  BLOCK, VOID, LOOP, VOID, // 0 $cmp, 1 $cmpDone, 2 $line, 3 $done
  ...plus(K, 16), GET, RLEN, I32_GT_U, BR_IF, 1,
  ...same16([...plus(R, 28), GET, K, I32_ADD], [...get(REF, K), I32_ADD]), I32_EQZ, BR_IF, 3,
  ...bump(K, 16),
  BR, 0,
  END, END,
  ...same16([...plus(R, 28), GET, RLEN, I32_ADD, ...i32(16), I32_SUB], [...get(REF, RLEN), I32_ADD, ...i32(16), I32_SUB]), I32_EQZ, BR_IF, 1,
  // Accepted: move the text down.
  GET, Q, ...plus(POS, 8), I32_SUB, SET, K,
  ...plus(OUT, 8), ...plus(POS, 8), GET, K, ...MEMORY_COPY,
  ...plus(OUT, 8), GET, K, I32_ADD, SET, P,
  ...store32At(STARTS, [...plus(OUT, 8), GET, BASE, I32_SUB]),
  ...store32At(ENDS, [...get(P, BASE), I32_SUB]),
  GET, NL, IF, VOID, GET, P, ...i32(0x0a), I32_STORE8, ...mem, END,
  // The stdcopy header in the room: stream (1 + the STDERR flag), three zeros, big-endian length.
  GET, OUT, ...i32(1), GET, F, I32_ADD, I32_STORE, ...mem,
  ...get(K, NL), I32_ADD, SET, M,
  ...plus(OUT, 4), ...bswap(M), I32_STORE, ...mem,
  ...get(FLAGS, N), I32_ADD, GET, F, ...i32(LOG_LINE_PARTIAL), GET, NL, ...i32(1), I32_SHL, I32_SUB, I32_OR, I32_STORE8, ...mem,
  ...get(P, NL), I32_ADD, SET, OUT,
  ...bump(N, 1),
  ...plus(E, 1), SET, POS,
  BR, 0,
  END, END,
  ...i32(0), GET, POS, I32_STORE, ...mem,
  ...i32(4), GET, OUT, I32_STORE, ...mem,
  GET, N,
  END,
];

interface PackExports {
  memory: WebAssembly.Memory;
  pack(pos: number, end: number, out: number, ref: number, rlen: number, starts: number, ends: number, flags: number, max: number, base: number): number;
}

/** Where things are in the packer's memory. */
const STATE = 0; // [pos, out] after a call
const REF_AT = 16;
const REF_MAX = 112;
const DATA_AT = 128;

/**
 * The packer over its own memory: a block is copied in, runs of lines are
 * packed in place, the caller's own lines go between the runs, and the
 * packed bytes are copied out. One instance serves every reader: a block is
 * loaded, packed and copied out within one synchronous call.
 */
export class JsonLinePacker {
  /** The loaded block (a view of the packer's memory, valid until the next load). */
  data: Buffer = Buffer.alloc(0);
  starts = new Uint32Array(0);
  ends = new Uint32Array(0);
  flags = new Uint8Array(0);
  /** After pack: where the next packed line goes (the caller goes on after the lines it packed). */
  out = 0;
  private rlen = 0;
  private startsAt = 0;
  private endsAt = 0;
  private flagsAt = 0;
  private state = new Uint32Array(0);
  private ref = new Uint8Array(0);

  constructor(private readonly ex: PackExports) {}

  /** Copies `src[0, len)` in, with room for `lines` lines. */
  load(src: Buffer, len: number, lines: number): void {
    const startsAt = DATA_AT + align(len + 16);
    const endsAt = startsAt + lines * 4;
    const flagsAt = endsAt + lines * 4;
    const need = flagsAt + lines + 16;
    const memory = this.ex.memory;
    if (memory.buffer.byteLength < need) memory.grow(Math.ceil((need - memory.buffer.byteLength) / 65536));
    const buf = memory.buffer;
    this.data = Buffer.from(buf, DATA_AT, len);
    src.copy(this.data, 0, 0, len);
    this.starts = new Uint32Array(buf, startsAt, lines);
    this.ends = new Uint32Array(buf, endsAt, lines);
    this.flags = new Uint8Array(buf, flagsAt, lines);
    this.state = new Uint32Array(buf, STATE, 2);
    this.ref = new Uint8Array(buf, REF_AT, REF_MAX);
    [this.startsAt, this.endsAt, this.flagsAt] = [startsAt, endsAt, flagsAt];
    this.rlen = 0;
  }

  /** Lines of the same time as `data[s, e)` may be packed from now on (the caller accepted that time). */
  reference(data: Buffer, s: number, e: number): void {
    const n = e - s;
    if (n < 16 || n > REF_MAX) return this.noReference();
    data.copy(this.ref, 0, s, e);
    this.rlen = n;
  }

  /** Every line goes to the caller until the next reference. */
  noReference(): void {
    this.rlen = 0;
  }

  /** Packs the run of lines at `pos` (offsets in `data`) into line slots from `n`; returns how many. */
  pack(pos: number, end: number, out: number, n: number): number {
    if (this.rlen === 0) {
      this.out = out;
      return 0;
    }
    const k = this.ex.pack(DATA_AT + pos, DATA_AT + end, DATA_AT + out, REF_AT, this.rlen,
      this.startsAt + n * 4, this.endsAt + n * 4, this.flagsAt + n, this.starts.length - n, DATA_AT);
    this.out = this.state[1]! - DATA_AT;
    return k;
  }
}

function align(n: number): number {
  return (n + 15) & ~15;
}

/** The packer, compiled on first use; null where WebAssembly SIMD is missing or BERTH_JSON_LOG_WASM=0 (the JavaScript path is used). */
export const jsonLinePacker = compiledOnce('BERTH_JSON_LOG_WASM', () => new JsonLinePacker(instantiate<PackExports>('pack', 10, [[9, I32], [1, V128]], body)));
