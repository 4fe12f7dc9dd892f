import { InvalidParameterError } from '../../kernel/index.js';

/**
 * Docker's `filters` query parameter: JSON `{"key":{"value":true}}`, or the
 * legacy `{"key":["value"]}` form (daemon/internal/filters/parse.go).
 */
export class Filters {
  constructor(private readonly values: Map<string, Set<string>> = new Map()) {}

  static parse(raw: string | undefined): Filters {
    if (!raw) return new Filters();
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch (err) {
      throw new InvalidParameterError(`invalid filter: ${(err as Error).message}`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new InvalidParameterError('invalid filter: must be a JSON object');
    }
    const out = new Map<string, Set<string>>();
    for (const [key, val] of Object.entries(parsed as Record<string, unknown>)) {
      const set = new Set<string>();
      if (Array.isArray(val)) val.forEach((v) => set.add(String(v)));
      else if (val && typeof val === 'object') {
        for (const [v, on] of Object.entries(val)) if (on) set.add(v);
      } else throw new InvalidParameterError(`invalid filter: values of '${key}' must be an object or an array`);
      out.set(key, set);
    }
    return new Filters(out);
  }

  /** 400 `Invalid filter 'x'` for a key the endpoint does not know (dockerd's Validate). */
  validate(accepted: readonly string[]): this {
    for (const key of this.values.keys()) {
      if (!accepted.includes(key)) throw new InvalidParameterError(`Invalid filter '${key}'`);
    }
    return this;
  }

  has(key: string): boolean {
    return (this.values.get(key)?.size ?? 0) > 0;
  }

  get(key: string): string[] {
    return [...(this.values.get(key) ?? [])];
  }

  /** True when the key is absent, or one of its values equals `value`. */
  matches(key: string, value: string | undefined): boolean {
    const set = this.values.get(key);
    if (!set || set.size === 0) return true;
    return value !== undefined && set.has(value);
  }

  /** True when the key is absent, or any of `values` is among its values. */
  matchesAny(key: string, values: Array<string | undefined>): boolean {
    const set = this.values.get(key);
    if (!set || set.size === 0) return true;
    return values.some((v) => v !== undefined && set.has(v));
  }

  /** Label filters: every `key` or `key=value` must hold in `labels`. */
  matchesLabels(labels: Record<string, string> | undefined, key = 'label'): boolean {
    for (const f of this.get(key)) {
      const eq = f.indexOf('=');
      const k = eq < 0 ? f : f.slice(0, eq);
      if (!labels || !(k in labels)) return false;
      if (eq >= 0 && labels[k] !== f.slice(eq + 1)) return false;
    }
    return true;
  }
}
