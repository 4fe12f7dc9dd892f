/**
 * What berthd's hand-assembled WebAssembly functions (lib/cri-scan-wasm.ts,
 * plugins/log-json-file/json-line-wasm.ts, json-pack-wasm.ts) are written with: the opcodes
 * they use, LEB128 immediates, a few instruction shorthands, and the bytes
 * of a module made of one exported function over one exported memory.
 * There is no WebAssembly toolchain in the build.
 */

// Core opcodes.
export const BLOCK = 0x02, LOOP = 0x03, IF = 0x04, END = 0x0b, BR = 0x0c, BR_IF = 0x0d, RETURN = 0x0f, VOID = 0x40;
export const GET = 0x20, SET = 0x21, TEE = 0x22;
export const I32_LOAD = 0x28, I64_LOAD = 0x29, I32_LOAD8_U = 0x2d, I32_LOAD16_U = 0x2f, I32_STORE = 0x36, I64_STORE = 0x37, I32_STORE8 = 0x3a, I32_STORE16 = 0x3b;
export const I32_CONST = 0x41, I64_CONST = 0x42, I32_EQZ = 0x45, I32_EQ = 0x46, I32_NE = 0x47, I32_LT_U = 0x49, I32_GT_U = 0x4b, I32_GE_U = 0x4f, I64_NE = 0x52;
export const I32_CTZ = 0x68, I32_ADD = 0x6a, I32_SUB = 0x6b, I32_MUL = 0x6c, I32_AND = 0x71, I32_OR = 0x72, I32_SHL = 0x74, I32_SHR_U = 0x76;
// SIMD (0xfd-prefixed) and bulk memory (0xfc-prefixed).
export const SIMD = 0xfd, V128_LOAD = 0x00, V128_STORE = 0x0b, V128_CONST = 0x0c;
export const I8X16_EQ = 0x23, I8X16_LT_S = 0x25, I8X16_LT_U = 0x26, V128_OR = 0x50, V128_ANY_TRUE = 0x53, I8X16_ALL_TRUE = 0x63, I8X16_BITMASK = 0x64;
export const MEMORY_COPY = [0xfc, 0x0a, 0x00, 0x00];
/** Value types. */
export const I32 = 0x7f, V128 = 0x7b;

export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

export function sleb(n: bigint): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = Number(n & 0x7fn);
    n >>= 7n;
    const done = (n === 0n && (byte & 0x40) === 0) || (n === -1n && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

/** i32.const n. */
export const i32 = (n: number) => [I32_CONST, ...sleb(BigInt(n))];
/** memarg: align 1, offset 0. */
export const mem = [0x00, 0x00];
/** Adds `n` to local `l`. */
export const bump = (l: number, n: number) => [GET, l, ...i32(n), I32_ADD, SET, l];

function section(id: number, bytes: number[]): number[] {
  return [id, ...uleb(bytes.length), ...bytes];
}

/**
 * A module with one function, `(i32 × params) -> i32` with the given
 * locals (groups of [count, type]) and body, exported as `name`, and one
 * memory of at least one page, exported as `memory`.
 */
export function oneFunctionModule(name: string, params: number, locals: number[][], body: number[]): Uint8Array<ArrayBuffer> {
  const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
  const str = (s: string) => [...uleb(s.length), ...Buffer.from(s, 'latin1')];
  const code = [...vec(locals), ...body];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([[0x60, ...vec(Array.from({ length: params }, () => [I32])), ...vec([[I32]])]])), // type 0
    ...section(3, vec([[0]])), // function 0 has type 0
    ...section(5, vec([[0x00, 1]])), // memory: min 1 page, no max
    ...section(7, vec([[...str('memory'), 0x02, 0], [...str(name), 0x00, 0]])), // exports
    ...section(10, vec([[...uleb(code.length), ...code]])),
  ]);
}

/** The exports of a module `oneFunctionModule` makes, instantiated. */
export function instantiate<T>(name: string, params: number, locals: number[][], body: number[]): T {
  return new WebAssembly.Instance(new WebAssembly.Module(oneFunctionModule(name, params, locals, body))).exports as T;
}

/**
 * `make`, run on the first call and kept: null when it throws (no
 * WebAssembly, or no SIMD, on this node) or when the environment variable
 * `disable` is `0`, and the caller then takes its JavaScript path.
 */
export function compiledOnce<T>(disable: string, make: () => T): () => T | null {
  let value: T | null | undefined;
  return () => {
    if (value !== undefined) return value;
    if (process.env[disable] === '0') return (value = null);
    try {
      value = make();
    } catch {
      value = null;
    }
    return value;
  };
}
