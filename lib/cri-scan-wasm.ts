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

import {
  BLOCK, BR, BR_IF, bump, compiledOnce, END, GET, I32, i32, I32_ADD, I32_AND, I32_CTZ, I32_EQZ, I32_GE_U, I32_GT_U, I32_MUL, I32_SHL, I32_STORE, I32_SUB,
  I8X16_ALL_TRUE, I8X16_BITMASK, I8X16_EQ, IF, instantiate, LOOP, mem, SET, SIMD, V128_CONST, V128_LOAD, VOID,
} from './wasm-asm.js';

export interface CriScanner {
  memory: WebAssembly.Memory;
  /** Takes up to `max` lines at `pos` with the header at `hdr` (`hlen` >= 16 bytes); returns how many; memory[0..4] is where it stopped. */
  scan(pos: number, end: number, hdr: number, hlen: number, starts: number, ends: number, max: number): number;
}

// Params 0-6, then locals.
const POS = 0, END_ = 1, HDR = 2, HLEN = 3, STARTS = 4, ENDS = 5, MAX = 6, N = 7, K = 8, P = 9, M = 10;

const load = (addr: number[]) => [...addr, SIMD, V128_LOAD, ...mem];
const add = (a: number, b: number) => [GET, a, GET, b, I32_ADD];
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

/** The scanner, compiled on first use; null where WebAssembly SIMD is missing or BERTH_CRI_SCAN_WASM=0 (the JavaScript path is used). */
export const criScanner = compiledOnce('BERTH_CRI_SCAN_WASM', (): CriScanner => {
  const ex = instantiate<CriScanner>('scan', 7, [[4, I32]], body);
  return { memory: ex.memory, scan: ex.scan };
});
