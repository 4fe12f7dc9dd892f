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

export interface LineEncoder {
  memory: WebAssembly.Memory;
  /** Writes line (dst, src, len, tail, tailLen, newline); the end of what it wrote, or -1 when the body needs escaping. */
  line(dst: number, src: number, len: number, tail: number, tailLen: number, newline: number): number;
}

// Opcodes used (core, SIMD 0xfd-prefixed, bulk memory 0xfc-prefixed).
const BLOCK = 0x02, LOOP = 0x03, IF = 0x04, END = 0x0b, BR = 0x0c, BR_IF = 0x0d, RETURN = 0x0f, VOID = 0x40;
const GET = 0x20, SET = 0x21, TEE = 0x22;
const I32_LOAD8_U = 0x2d, I64_STORE = 0x37, I32_STORE8 = 0x3a, I32_STORE16 = 0x3b;
const I32_CONST = 0x41, I64_CONST = 0x42, I32_EQZ = 0x45, I32_EQ = 0x46, I32_LT_U = 0x49, I32_GE_U = 0x4f;
const I32_ADD = 0x6a, I32_SUB = 0x6b, I32_OR = 0x72;
const SIMD = 0xfd, V128_LOAD = 0x00, V128_STORE = 0x0b, V128_CONST = 0x0c;
const I8X16_EQ = 0x23, I8X16_LT_S = 0x25, I8X16_LT_U = 0x26, V128_OR = 0x50, V128_ANY_TRUE = 0x53;
const MEMORY_COPY = [0xfc, 0x0a, 0x00, 0x00];

// Locals: params 0-5, then $v (v128) and $b (i32).
const DST = 0, SRC = 1, LEN = 2, TAIL = 3, TLEN = 4, NL = 5, V = 6, B = 7;

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

function sleb(n: bigint): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = Number(n & 0x7fn);
    n >>= 7n;
    const done = (n === 0n && (byte & 0x40) === 0) || (n === -1n && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

const i32 = (n: number) => [I32_CONST, ...sleb(BigInt(n))];
const splat = (byte: number) => [SIMD, V128_CONST, ...new Array<number>(16).fill(byte)];
const mem = [0x00, 0x00]; // memarg: align 1, offset 0
/** `$v` compared with a splatted byte by `op` (a lane mask). */
const cmp = (op: number, byte: number) => [GET, V, ...splat(byte), SIMD, op];
const vor = [SIMD, V128_OR];
/** Adds `n` to local `l`. */
const bump = (l: number, n: number) => [GET, l, ...i32(n), I32_ADD, SET, l];
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

function section(id: number, bytes: number[]): number[] {
  return [id, ...uleb(bytes.length), ...bytes];
}

function moduleBytes(): Uint8Array<ArrayBuffer> {
  const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
  const name = (s: string) => [...uleb(s.length), ...Buffer.from(s, 'latin1')];
  const I32 = 0x7f, V128 = 0x7b;
  const locals = vec([[1, V128], [1, I32]]);
  const code = [...locals, ...body];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([[0x60, ...vec([[I32], [I32], [I32], [I32], [I32], [I32]]), ...vec([[I32]])]])), // type: (i32 x6) -> i32
    ...section(3, vec([[0]])), // function 0 has type 0
    ...section(5, vec([[0x00, 1]])), // memory: min 1 page, no max
    ...section(7, vec([[...name('memory'), 0x02, 0], [...name('line'), 0x00, 0]])), // exports
    ...section(10, vec([[...uleb(code.length), ...code]])),
  ]);
}

let encoder: LineEncoder | null | undefined;

/** The encoder, compiled on first use; null where WebAssembly SIMD is not available (the JavaScript path is used). */
export function lineEncoder(): LineEncoder | null {
  if (encoder !== undefined) return encoder;
  if (process.env.BERTH_JSON_LOG_WASM === '0') return (encoder = null);
  try {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(moduleBytes()));
    const ex = instance.exports as unknown as LineEncoder;
    encoder = { memory: ex.memory, line: ex.line };
  } catch {
    encoder = null;
  }
  return encoder;
}
