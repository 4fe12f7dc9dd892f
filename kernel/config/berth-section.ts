import { isPlainObject } from './values.js';

/**
 * Shape rules for daemon.json's `berth` section (see BerthSection). It is
 * Berth's own key, so unlike dockerd's keys it is checked strictly: an unknown
 * member is a typo that would otherwise silently change which plugins load.
 */
const MEMBERS = ['plugins', 'disable', 'require', 'select'];

export function berthSectionProblems(section: Record<string, unknown>): string[] {
  const out: string[] = [];
  const bad = (msg: string) => out.push(`invalid berth section: ${msg}`);
  const unknown = Object.keys(section).filter((k) => !MEMBERS.includes(k)).sort();
  if (unknown.length) bad(`unknown key(s): ${unknown.join(', ')}`);

  const { plugins, disable, require, select } = section;
  if (plugins !== undefined) {
    if (!isPlainObject(plugins)) bad('"plugins" must be an object of per-plugin objects');
    else {
      for (const [id, settings] of Object.entries(plugins)) {
        if (!isPlainObject(settings)) bad(`"plugins.${id}" must be an object`);
      }
    }
  }
  for (const [name, list] of [['disable', disable], ['require', require]] as const) {
    if (list !== undefined && !(Array.isArray(list) && list.every((x) => typeof x === 'string'))) {
      bad(`"${name}" must be an array of plugin ids (strings)`);
    }
  }
  if (select !== undefined) {
    if (!isPlainObject(select) || !Object.values(select).every((x) => typeof x === 'string')) {
      bad('"select" must map extension point ids to names (strings)');
    }
  }
  if (Array.isArray(disable) && Array.isArray(require)) {
    const both = require.filter((id) => disable.includes(id));
    for (const id of both) bad(`plugin "${String(id)}" is both disabled and required`);
  }
  return out;
}
