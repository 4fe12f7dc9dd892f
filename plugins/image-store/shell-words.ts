import { InvalidParameterError } from '../../kernel/index.js';

/**
 * The Dockerfile word rules (buildkit's shell lexer) for the instructions
 * `docker import --change` accepts: quotes, `\` escapes and `$VAR`,
 * `${VAR}`, `${VAR:-x}`, `${VAR-x}`, `${VAR:+x}`, `${VAR+x}`, `${VAR:?msg}`
 * expansion against the environment built so far.
 */
export type EnvLookup = (name: string) => string | undefined;

/** ProcessWord: one word, quotes removed, variables expanded, spaces kept. */
export function processWord(word: string, env: EnvLookup): string {
  return lex(word, env, false).join('');
}

/** ProcessWords: expands, then splits on unquoted whitespace (also inside unquoted expansions). */
export function processWords(text: string, env: EnvLookup): string[] {
  return lex(text, env, true);
}

/** The parser's parseWords: splits on whitespace outside quotes, keeping quotes and escapes. */
export function splitWords(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      cur += c;
      if (c === '\\' && quote === '"' && i + 1 < text.length) cur += text[++i];
      else if (c === quote) quote = '';
      continue;
    }
    if (/\s/.test(c)) {
      if (cur) { out.push(cur); cur = ''; }
      continue;
    }
    if (c === '\\' && i + 1 < text.length) { cur += c + text[++i]; continue; }
    if (c === '"' || c === "'") quote = c;
    cur += c;
  }
  if (cur) out.push(cur);
  return out;
}

function lex(s: string, env: EnvLookup, split: boolean): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  const endWord = () => { if (inWord) words.push(cur); cur = ''; inWord = false; };
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === '\\') {
      if (i + 1 < s.length) cur += s[i + 1];
      else cur += c;
      inWord = true;
      i += 2;
    } else if (c === "'") {
      const end = s.indexOf("'", i + 1);
      if (end < 0) throw new InvalidParameterError('unexpected end of statement while looking for matching single-quote');
      cur += s.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      i++;
      for (;;) {
        if (i >= s.length) throw new InvalidParameterError('unexpected end of statement while looking for matching double-quote');
        const d = s[i]!;
        if (d === '"') { i++; break; }
        if (d === '\\' && i + 1 < s.length && '"\\$'.includes(s[i + 1]!)) { cur += s[i + 1]; i += 2; continue; }
        if (d === '$') { const [v, n] = expand(s, i, env); cur += v; i = n; continue; }
        cur += d;
        i++;
      }
      inWord = true;
    } else if (c === '$') {
      const [v, n] = expand(s, i, env);
      i = n;
      if (!split) { cur += v; inWord = true; continue; }
      const parts = v.split(/(\s+)/);
      for (const p of parts) {
        if (p === '') continue;
        if (/^\s+$/.test(p)) endWord();
        else { cur += p; inWord = true; }
      }
    } else if (split && /\s/.test(c)) {
      endWord();
      i++;
    } else {
      cur += c;
      inWord = true;
      i++;
    }
  }
  endWord();
  return split ? words : [words.join('')];
}

/** Expands the variable at s[i] === '$'; returns its value and the index after it. */
function expand(s: string, i: number, env: EnvLookup): [string, number] {
  const rest = s.slice(i + 1);
  const simple = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
  if (simple) return [env(simple[0]) ?? '', i + 1 + simple[0].length];
  if (!rest.startsWith('{')) return ['$', i + 1];
  let depth = 0;
  let end = -1;
  for (let j = 1; j < rest.length; j++) {
    if (rest[j] === '{') depth++;
    else if (rest[j] === '}') {
      if (depth === 0) { end = j; break; }
      depth--;
    }
  }
  if (end < 0) throw new InvalidParameterError(`missing '}' in '${s}'`);
  const body = rest.slice(1, end);
  const next = i + 1 + end + 1;
  const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+?])(.*))?$/s.exec(body);
  if (!m) throw new InvalidParameterError(`bad substitution: \${${body}}`);
  const [, name, op, word = ''] = m;
  const value = env(name!);
  const set = value !== undefined;
  const nonEmpty = set && value !== '';
  switch (op) {
    case undefined: return [value ?? '', next];
    case ':-': return [nonEmpty ? value! : processWord(word, env), next];
    case '-': return [set ? value! : processWord(word, env), next];
    case ':+': return [nonEmpty ? processWord(word, env) : '', next];
    case '+': return [set ? processWord(word, env) : '', next];
    case ':?':
    case '?':
      if (op === ':?' ? nonEmpty : set) return [value!, next];
      throw new InvalidParameterError(`${name}: ${word ? processWord(word, env) : 'parameter null or not set'}`);
    default: return ['', next];
  }
}
