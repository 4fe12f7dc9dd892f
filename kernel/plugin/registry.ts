import { POINTS } from '../contracts/extension-points.js';
import { InvalidParameterError } from '../errors.js';
import type { AnyManifest } from './manifest.js';

/**
 * The set of known plugins, checked and in dependency order.
 *
 * Built from an explicit built-ins list (no registration by import side
 * effect). Rejects empty or duplicate ids, a duplicate (point, Docker name),
 * unknown points, and cycles through `requires` (the cycle is named).
 */
export class PluginRegistry {
  private readonly byId = new Map<string, AnyManifest>();
  private orderCache?: AnyManifest[];

  constructor(manifests: readonly AnyManifest[] = []) {
    for (const m of manifests) this.register(m);
  }

  register(m: AnyManifest): void {
    if (!m.id) throw new InvalidParameterError('plugin manifest without an id');
    if (!POINTS[m.point]) throw new InvalidParameterError(`plugin ${m.id}: unknown extension point ${m.point}`);
    if (this.byId.has(m.id)) throw new InvalidParameterError(`duplicate plugin id: ${m.id}`);
    for (const other of this.byId.values()) {
      if (other.point === m.point && other.name === m.name) {
        throw new InvalidParameterError(`duplicate ${POINTS[m.point].title} "${m.name}": plugins ${other.id} and ${m.id}`);
      }
    }
    for (const r of m.requires ?? []) {
      if (!POINTS[r]) throw new InvalidParameterError(`plugin ${m.id}: requires unknown extension point ${r}`);
    }
    this.byId.set(m.id, m);
    this.orderCache = undefined;
  }

  get(id: string): AnyManifest | undefined {
    return this.byId.get(id);
  }

  all(): AnyManifest[] {
    return [...this.byId.values()];
  }

  providers(point: string): AnyManifest[] {
    return this.all().filter((m) => m.point === point);
  }

  /**
   * Plugins in activation order: every provider of a required point comes
   * before the plugins that require it. Ties keep registration order.
   * Throws with the cycle spelled out ("a -> b -> a").
   */
  ordered(): AnyManifest[] {
    if (this.orderCache) return this.orderCache;
    const out: AnyManifest[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (m: AnyManifest, path: string[]) => {
      const s = state.get(m.id);
      if (s === 'done') return;
      if (s === 'visiting') {
        const cycle = [...path.slice(path.indexOf(m.id)), m.id];
        throw new InvalidParameterError(`plugin dependency cycle: ${cycle.join(' -> ')}`);
      }
      state.set(m.id, 'visiting');
      for (const point of m.requires ?? []) {
        for (const dep of this.providers(point)) visit(dep, [...path, m.id]);
      }
      state.set(m.id, 'done');
      out.push(m);
    };
    for (const m of this.byId.values()) visit(m, []);
    this.orderCache = out;
    return out;
  }
}
