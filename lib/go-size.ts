/**
 * go-units' size parser (size.go, v0.5): `<number>[ ]<suffix>`, the suffix one
 * of b, k/kb/kib, m/mb/mib … p, case-insensitive. FromHumanSize multiplies by
 * 1000 per step (json-file max-size), RAMInBytes by 1024 (volume `size`,
 * max-buffer-size). Errors keep go-units' wording, which dockerd passes through.
 */
const STEPS: Record<string, number> = { k: 1, m: 2, g: 3, t: 4, p: 5 };

export function fromHumanSize(sizeStr: string): number {
  return parseSize(sizeStr, 1000);
}

export function ramInBytes(sizeStr: string): number {
  return parseSize(sizeStr, 1024);
}

export function parseSize(sizeStr: string, base: 1000 | 1024): number {
  let sep = -1;
  for (let i = sizeStr.length - 1; i >= 0; i--) {
    if ('0123456789. '.includes(sizeStr[i]!)) { sep = i; break; }
  }
  if (sep === -1) throw new Error(`invalid size: '${sizeStr}'`);
  const num = sizeStr[sep] === ' ' ? sizeStr.slice(0, sep) : sizeStr.slice(0, sep + 1);
  let sfx = sizeStr.slice(sep + 1);
  const size = parseGoFloat(num);
  if (size < 0) throw new Error(`invalid size: '${sizeStr}'`);
  if (sfx.length === 0) return Math.trunc(size);
  const bad = () => new Error(`invalid suffix: '${sfx}'`);
  if (sfx.length > 3) throw bad();
  sfx = sfx.toLowerCase();
  if (sfx[0] === 'b') {
    if (sfx.length > 1) throw bad();
    return Math.trunc(size);
  }
  const step = STEPS[sfx[0]!];
  if (step === undefined) throw bad();
  if ((sfx.length === 2 && sfx[1] !== 'b') || (sfx.length === 3 && sfx.slice(1) !== 'ib')) throw bad();
  return Math.trunc(size * base ** step);
}

/** strconv.ParseFloat for plain decimals, with its error text. */
function parseGoFloat(s: string): number {
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) throw new Error(`strconv.ParseFloat: parsing ${JSON.stringify(s)}: invalid syntax`);
  return Number(s);
}

/** go-units HumanSize: decimal units with 4 significant digits ("32.77kB", "0B"). */
export function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let i = 0;
  let v = bytes;
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  return `${Number(v.toPrecision(4))}${units[i]}`;
}
