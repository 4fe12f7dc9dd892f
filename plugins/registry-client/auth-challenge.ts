/**
 * WWW-Authenticate parsing as docker/distribution's challenge package:
 * `Bearer realm="https://auth/token",service="registry",scope="…"` and
 * `Basic realm="…"`. Schemes are lower-cased; parameter values may be
 * quoted with backslash escapes.
 */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  const values = Array.isArray(header) ? header : [header];
  const out: Challenge[] = [];
  for (const v of values) {
    let i = 0;
    const s = v;
    while (i < s.length) {
      while (i < s.length && /[\s,]/.test(s[i]!)) i++;
      const m = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+/.exec(s.slice(i));
      if (!m) break;
      const scheme = m[0].toLowerCase();
      i += m[0].length;
      const params: Record<string, string> = {};
      for (;;) {
        while (i < s.length && /\s/.test(s[i]!)) i++;
        const pm = /^([A-Za-z0-9!#$%&'*+.^_`|~-]+)\s*=\s*/.exec(s.slice(i));
        if (!pm) break;
        i += pm[0].length;
        let value = '';
        if (s[i] === '"') {
          i++;
          while (i < s.length && s[i] !== '"') {
            if (s[i] === '\\' && i + 1 < s.length) i++;
            value += s[i++];
          }
          i++;
        } else {
          const vm = /^[^\s,]*/.exec(s.slice(i))!;
          value = vm[0];
          i += vm[0].length;
        }
        params[pm[1]!.toLowerCase()] = value;
        while (i < s.length && /\s/.test(s[i]!)) i++;
        if (s[i] === ',') i++;
        else break;
      }
      out.push({ scheme, params });
    }
  }
  return out;
}
