/**
 * The hot loop of the json-file encoder as a small WebAssembly function with
 * 128-bit SIMD: one call writes one plain line of dockerd's format,
 *
 *   {"log":"<body>\n"<tail>        (`\n` only for a line that ended with one)
 *
 * checking the body 16 bytes at a time while it copies it. A body holding a
 * byte that JSON needs escaped (controls, `"` `\` `<` `>` `&`) or any byte
 * from 0x80 (UTF-8, checked and escaped by escapeInto) is refused (-1) and
 * the caller escapes that line itself. In JavaScript, checking and copying
 * 50 MB of 100-byte lines byte by byte was the bulk of the daemon's CPU for
 * a chatty container; here it runs at memory speed and the per-line cost is
 * one call. The bytes are the same either way (json-batch.test.ts compares
 * them with marshalEntry's).
 *
 * The module is assembled below from its instructions (no toolchain in the
 * build); the text form of the function is:
 *
 *   (func $line (param $dst i32) (param $src i32) (param $len i32)
 *               (param $tail i32) (param $tlen i32) (param $nl i32) (result i32)
 *     (local $v v128)
 *     (i64.store (local.get $dst) (i64.const 0x223a22676f6c227b))   ;; {"log":"
 *     (local.set $dst (i32.add (local.get $dst) (i32.const 8)))
 *     (block $rest (loop $simd
 *       (br_if $rest (i32.lt_u (local.get $len) (i32.const 16)))
 *       (local.set $v (v128.load (local.get $src)))
 *       (if (v128.any_true (v128.or (v128.or (v128.or (i8x16.lt_u $v 0x20) (i8x16.lt_s $v 0))
 *                                    (v128.or (i8x16.eq $v 0x22) (i8x16.eq $v 0x5c)))
 *                          (v128.or (v128.or (i8x16.eq $v 0x3c) (i8x16.eq $v 0x3e)) (i8x16.eq $v 0x26))))
 *         (then (return (i32.const -1))))
 *       (v128.store (local.get $dst) (local.get $v))
 *       src += 16; dst += 16; len -= 16
 *       (br $simd)))
 *     (block $done (loop $byte                                       ;; the last 0-15 bytes, one at a time
 *       (br_if $done (i32.eqz (local.get $len)))
 *       (if (unsafe (i32.load8_u (local.get $src))) (then (return (i32.const -1))))
 *       (i32.store8 (local.get $dst) (i32.load8_u (local.get $src)))
 *       src += 1; dst += 1; len -= 1
 *       (br $byte)))
 *     (if (local.get $nl) (then (i32.store16 (local.get $dst) (i32.const 0x6e5c)) dst += 2))   ;; \n
 *     (i32.store8 (local.get $dst) (i32.const 0x22)) dst += 1                                   ;; "
 *     (memory.copy (local.get $dst) (local.get $tail) (local.get $tlen))
 *     (i32.add (local.get $dst) (local.get $tlen)))
 *
 * where a byte b is unsafe when b < 0x20, b >= 0x80, or b is one of 0x22 0x5c 0x3c 0x3e 0x26
 * (SAFE_BYTE of json-log-line.ts, which the tests hold it to).
 */

import {
  BLOCK, BR, BR_IF, bump, compiledOnce, END, GET, I32, i32, I32_ADD, I32_EQ, I32_EQZ, I32_GE_U, I32_LOAD8_U, I32_LT_U, I32_OR, I32_STORE16, I32_STORE8, I64_CONST, I64_STORE,
  I8X16_EQ, I8X16_LT_S, I8X16_LT_U, IF, instantiate, LOOP, mem, MEMORY_COPY, RETURN, SET, SIMD, sleb, TEE, V128, V128_ANY_TRUE, V128_CONST,
  V128_LOAD, V128_OR, V128_STORE, VOID,
} from '../../lib/wasm-asm.js';

export interface LineEncoder {
  memory: WebAssembly.Memory;
  /** Writes line (dst, src, len, tail, tailLen, newline); the end of what it wrote, or -1 when the body needs escaping. */
  line(dst: number, src: number, len: number, tail: number, tailLen: number, newline: number): number;
}

// Locals: params 0-5, then $v (v128) and $b (i32).
const DST = 0, SRC = 1, LEN = 2, TAIL = 3, TLEN = 4, NL = 5, V = 6, B = 7;

const splat = (byte: number) => [SIMD, V128_CONST, ...new Array<number>(16).fill(byte)];
/** `$v` compared with a splatted byte by `op` (a lane mask). */
const cmp = (op: number, byte: number) => [GET, V, ...splat(byte), SIMD, op];
const vor = [SIMD, V128_OR];
/** Is the i32 on the stack (tee'd to $b) unsafe: leaves a boolean. */
const unsafeByte = [
  TEE, B, ...i32(0x20), I32_LT_U,
  GET, B, ...i32(0x80), I32_GE_U, I32_OR,
  ...[0x22, 0x5c, 0x3c, 0x3e, 0x26].flatMap((c) => [GET, B, ...i32(c), I32_EQ, I32_OR]),
];

const body = [
  // {"log":"
  GET, DST, I64_CONST, ...sleb(0x223a22676f6c227bn), I64_STORE, 0x03, 0x00,
  ...bump(DST, 8),
  BLOCK, VOID, LOOP, VOID,
  GET, LEN, ...i32(16), I32_LT_U, BR_IF, 1,
  GET, SRC, SIMD, V128_LOAD, ...mem, SET, V,
  ...cmp(I8X16_LT_U, 0x20), ...cmp(I8X16_LT_S, 0x00), ...vor,
  ...cmp(I8X16_EQ, 0x22), ...cmp(I8X16_EQ, 0x5c), ...vor, ...vor,
  ...cmp(I8X16_EQ, 0x3c), ...cmp(I8X16_EQ, 0x3e), ...vor, ...cmp(I8X16_EQ, 0x26), ...vor, ...vor,
  SIMD, V128_ANY_TRUE, IF, VOID, ...i32(-1), RETURN, END,
  GET, DST, GET, V, SIMD, V128_STORE, ...mem,
  ...bump(SRC, 16), ...bump(DST, 16), ...bump(LEN, -16),
  BR, 0,
  END, END,
  BLOCK, VOID, LOOP, VOID,
  GET, LEN, I32_EQZ, BR_IF, 1,
  GET, SRC, I32_LOAD8_U, ...mem, ...unsafeByte, IF, VOID, ...i32(-1), RETURN, END,
  GET, DST, GET, B, I32_STORE8, ...mem,
  ...bump(SRC, 1), ...bump(DST, 1), ...bump(LEN, -1),
  BR, 0,
  END, END,
  GET, NL, IF, VOID, GET, DST, ...i32(0x6e5c), I32_STORE16, 0x00, 0x00, ...bump(DST, 2), END,
  GET, DST, ...i32(0x22), I32_STORE8, ...mem, ...bump(DST, 1),
  GET, DST, GET, TAIL, GET, TLEN, ...MEMORY_COPY,
  GET, DST, GET, TLEN, I32_ADD,
  END,
];

/** The encoder, compiled on first use; null where WebAssembly SIMD is not available or BERTH_JSON_LOG_WASM=0 (the JavaScript path is used). */
export const lineEncoder = compiledOnce('BERTH_JSON_LOG_WASM', (): LineEncoder => {
  const ex = instantiate<LineEncoder>('line', 6, [[1, V128], [1, I32]], body);
  return { memory: ex.memory, line: ex.line };
});
