import { SystemError } from '../../kernel/index.js';

/**
 * Go's path.Match, which the `reference` filter of `GET /images/json` uses
 * (reference.FamiliarMatch): `*` and `?` never cross a `/`, `[a-z]` and
 * `[^…]` are classes, `\` escapes. A malformed pattern is Go's
 * ErrBadPattern, which dockerd returns as a plain (500) error.
 */
export function globMatch(pattern: string, name: string): boolean {
  return compile(pattern).test(name);
}

const cache = new Map<string, RegExp>();

function compile(pattern: string): RegExp {
  let re = cache.get(pattern);
  if (re) return re;
  let out = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '\\') {
      if (i + 1 >= pattern.length) throw badPattern();
      out += escapeChar(pattern[++i]!);
    } else if (c === '[') {
      const [cls, end] = charClass(pattern, i + 1);
      out += cls;
      i = end;
    } else out += escapeChar(c);
  }
  re = new RegExp(out + '$', 'u');
  if (cache.size > 256) cache.clear();
  cache.set(pattern, re);
  return re;
}

/** Parses a class starting after `[`; returns the regex source and the index of the closing `]`. */
function charClass(p: string, start: number): [string, number] {
  let i = start;
  let negate = false;
  if (p[i] === '^') { negate = true; i++; }
  const ranges: string[] = [];
  let first = true;
  for (;;) {
    if (i >= p.length) throw badPattern();
    if (p[i] === ']' && !first) break;
    first = false;
    const [lo, n1] = classChar(p, i);
    i = n1;
    let hi = lo;
    if (p[i] === '-') {
      [hi, i] = classChar(p, i + 1);
      if (hi < lo) throw badPattern();
    }
    ranges.push(lo === hi ? escapeClass(lo) : `${escapeClass(lo)}-${escapeClass(hi)}`);
  }
  // Go's classes never match '/'.
  const body = ranges.join('');
  return [negate ? `(?!/)[^${body}]` : `(?!/)[${body}]`, i];
}

function classChar(p: string, i: number): [string, number] {
  if (i >= p.length || p[i] === '-' || p[i] === ']') throw badPattern();
  if (p[i] === '\\') {
    if (i + 1 >= p.length) throw badPattern();
    return [p[i + 1]!, i + 2];
  }
  const cp = p.codePointAt(i)!;
  const ch = String.fromCodePoint(cp);
  return [ch, i + ch.length];
}

function escapeChar(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

function escapeClass(c: string): string {
  return c.replace(/[\]\\^-]/g, '\\$&');
}

function badPattern(): SystemError {
  return new SystemError('syntax error in pattern');
}
