/**
 * The same-header fast path of scanCriLines (lib/cri-log.ts) as a small
 * WebAssembly function with 128-bit SIMD. conmon writes one header
 * (`<time> <stream> <F|P> `) for every line of one read of the process's
 * pipe, so most spool lines repeat the previous line's header byte for byte;
 * for them the JavaScript loop spent, per ~100-byte line, a native indexOf
 * call and a 30-40 byte compare loop. One call here takes a whole run of
 * such lines: the header compared 16 bytes at a time, the newline found 16
 * bytes at a time, each line's body start and end stored as u32s. The
 * caller parses every other line (a new header, a torn line) as before and
 * gets the same batch (output-batch.test.ts compares both paths on random
 * spools).
 *
 * Text form (assembled below; no toolchain in the build):
 *
 *   (func $scan (param $pos i32) (param $end i32) (param $hdr i32) (param $hlen i32)
 *               (param $starts i32) (param $ends i32) (param $max i32) (result i32)
 *     (local $n i32) (local $k i32) (local $p i32) (local $m i32)
 *     (block $done (loop $line
 *       (br_if $done (i32.ge_u $n $max))
 *       (br_if $done (i32.gt_u (i32.add $pos $hlen) $end))           ;; the header must fit
 *       (local.set $k (i32.const 0))                                   ;; header: 16 bytes at a time,
 *       (block $head (loop $cmp                                        ;; then its last 16 (overlapping)
 *         (br_if $head (i32.gt_u (i32.add $k 16) $hlen))
 *         (br_if $done (i32.eqz (i8x16.all_true (i8x16.eq (v128.load (i32.add $pos $k)) (v128.load (i32.add $hdr $k))))))
 *         k += 16 (br $cmp)))
 *       (br_if $done (i32.eqz (i8x16.all_true (i8x16.eq (v128.load (pos + hlen - 16)) (v128.load (hdr + hlen - 16))))))
 *       (local.set $p (i32.add $pos $hlen))
 *       (block $found (loop $search                                    ;; the newline, 16 bytes at a time
 *         (br_if $done (i32.ge_u $p $end))                             ;; none: a torn line, left to the caller
 *         (local.set $m (i8x16.bitmask (i8x16.eq (v128.load $p) (splat 0x0a))))
 *         (if (i32.gt_u (i32.add $p 16) $end) (then m &= (1 << (end - p)) - 1))   ;; not past the end
 *         (br_if $found $m)
 *         p += 16 (br $search)))
 *       (i32.store (starts + 4n) (pos + hlen)) (i32.store (ends + 4n) (p + ctz m))
 *       n += 1; pos = p + ctz m + 1
 *       (br $line)))
 *     (i32.store (i32.const 0) $pos)                                   ;; where the caller goes on
 *     $n)
 *
 * Memory layout per call (scanCriLines): the buffer's bytes at 16 (address 0
 * holds the position returned), 16 bytes of slack after them (the loads may
 * read up to 15 bytes past the end; those lanes are masked out), then the
 * starts and ends arrays.
 */

export interface CriScanner {
  memory: WebAssembly.Memory;
  /** Takes up to `max` lines at `pos` with the header at `hdr` (`hlen` >= 16 bytes); returns how many; memory[0..4] is where it stopped. */
  scan(pos: number, end: number, hdr: number, hlen: number, starts: number, ends: number, max: number): number;
}

const BLOCK = 0x02, LOOP = 0x03, IF = 0x04, END = 0x0b, BR = 0x0c, BR_IF = 0x0d, VOID = 0x40;
const GET = 0x20, SET = 0x21;
const I32_STORE = 0x36, I32_CONST = 0x41, I32_EQZ = 0x45, I32_GE_U = 0x4f, I32_GT_U = 0x4b;
const I32_CTZ = 0x68, I32_ADD = 0x6a, I32_SUB = 0x6b, I32_MUL = 0x6c, I32_AND = 0x71, I32_SHL = 0x74;
const SIMD = 0xfd, V128_LOAD = 0x00, V128_CONST = 0x0c, I8X16_EQ = 0x23, I8X16_ALL_TRUE = 0x63, I8X16_BITMASK = 0x64;

// Params 0-6, then locals.
const POS = 0, END_ = 1, HDR = 2, HLEN = 3, STARTS = 4, ENDS = 5, MAX = 6, N = 7, K = 8, P = 9, M = 10;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    const done = (n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

const i32 = (n: number) => [I32_CONST, ...sleb(n)];
const mem = [0x00, 0x00]; // memarg: align 1, offset 0
const load = (addr: number[]) => [...addr, SIMD, V128_LOAD, ...mem];
const add = (a: number, b: number) => [GET, a, GET, b, I32_ADD];
const bump = (l: number, n: number) => [GET, l, ...i32(n), I32_ADD, SET, l];
/** Are the 16 bytes at `a` and `b` all equal: leaves a boolean. */
const same16 = (a: number[], b: number[]) => [...load(a), ...load(b), SIMD, I8X16_EQ, SIMD, I8X16_ALL_TRUE];

const body = [
  BLOCK, VOID, LOOP, VOID,
  GET, N, GET, MAX, I32_GE_U, BR_IF, 1,
  ...add(POS, HLEN), GET, END_, I32_GT_U, BR_IF, 1,
  ...i32(0), SET, K,
  BLOCK, VOID, LOOP, VOID,
  GET, K, ...i32(16), I32_ADD, GET, HLEN, I32_GT_U, BR_IF, 1,
  ...same16(add(POS, K), add(HDR, K)), I32_EQZ, BR_IF, 3,
  ...bump(K, 16),
  BR, 0,
  END, END,
  ...same16([...add(POS, HLEN), ...i32(16), I32_SUB], [...add(HDR, HLEN), ...i32(16), I32_SUB]), I32_EQZ, BR_IF, 1,
  ...add(POS, HLEN), SET, P,
  BLOCK, VOID, LOOP, VOID,
  GET, P, GET, END_, I32_GE_U, BR_IF, 3,
  ...load([GET, P]), SIMD, V128_CONST, ...new Array<number>(16).fill(0x0a), SIMD, I8X16_EQ, SIMD, I8X16_BITMASK, SET, M,
  GET, P, ...i32(16), I32_ADD, GET, END_, I32_GT_U, IF, VOID,
  GET, M, ...i32(1), GET, END_, GET, P, I32_SUB, I32_SHL, ...i32(1), I32_SUB, I32_AND, SET, M,
  END,
  GET, M, BR_IF, 1,
  ...bump(P, 16),
  BR, 0,
  END, END,
  // starts[n] = pos + hlen; ends[n] = p + ctz(m); n += 1; pos = ends[n] + 1
  GET, STARTS, GET, N, ...i32(4), I32_MUL, I32_ADD, ...add(POS, HLEN), I32_STORE, 0x02, 0x00,
  GET, P, GET, M, I32_CTZ, I32_ADD, SET, P,
  GET, ENDS, GET, N, ...i32(4), I32_MUL, I32_ADD, GET, P, I32_STORE, 0x02, 0x00,
  ...bump(N, 1),
  GET, P, ...i32(1), I32_ADD, SET, POS,
  BR, 0,
  END, END,
  ...i32(0), GET, POS, I32_STORE, 0x02, 0x00,
  GET, N,
  END,
];

function section(id: number, bytes: number[]): number[] {
  return [id, ...uleb(bytes.length), ...bytes];
}

function moduleBytes(): Uint8Array<ArrayBuffer> {
  const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
  const name = (s: string) => [...uleb(s.length), ...Buffer.from(s, 'latin1')];
  const I32 = 0x7f;
  const code = [...vec([[4, I32]]), ...body];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([[0x60, ...vec(Array.from({ length: 7 }, () => [I32])), ...vec([[I32]])]])), // (i32 x7) -> i32
    ...section(3, vec([[0]])),
    ...section(5, vec([[0x00, 1]])), // memory: min 1 page
    ...section(7, vec([[...name('memory'), 0x02, 0], [...name('scan'), 0x00, 0]])),
    ...section(10, vec([[...uleb(code.length), ...code]])),
  ]);
}

let scanner: CriScanner | null | undefined;

/** The scanner, compiled on first use; null where WebAssembly SIMD is missing or BERTH_CRI_SCAN_WASM=0 (the JavaScript path is used). */
export function criScanner(): CriScanner | null {
  if (scanner !== undefined) return scanner;
  if (process.env.BERTH_CRI_SCAN_WASM === '0') return (scanner = null);
  try {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(moduleBytes()));
    const ex = instance.exports as unknown as CriScanner;
    scanner = { memory: ex.memory, scan: ex.scan };
  } catch {
    scanner = null;
  }
  return scanner;
}
