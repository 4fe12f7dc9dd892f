import type { ContainerRecord, NetworkSettings } from '../../kernel/index.js';
import { portList, statusText, summaryView } from './container-view.js';

/**
 * `GET /containers/json` as JSON text, byte for byte what
 * `JSON.stringify(summaryView(...))` gives, without building and serialising
 * every container's summary on every request.
 *
 * `docker ps` pollers (compose, testcontainers, monitoring) list all
 * containers several times a second; building ~15-key objects per container
 * and serialising them again was most of the request's CPU. Records are
 * replaced, never mutated, when they change (ContainerStore.save), so what
 * follows from the record alone (Id, Names, Command, Labels, State, Mounts …)
 * is serialised once per record version and kept in a WeakMap; only what
 * changes without a new record — Status ("Up 3 seconds"), Ports and
 * Networks (network state), sizes — is serialised per request.
 */
interface Fragments {
  /** `{"Id":…` up to and including `"Created":…` */
  head: string;
  /** `,"Labels":…,"State":…` */
  labelsState: string;
  /** `,"HostConfig":…` */
  hostConfig: string;
  /** `,"Mounts":…` */
  mounts: string;
}

const cache = new WeakMap<ContainerRecord, Fragments>();

/** `,"key":<json>`, or nothing when the value is undefined (as JSON.stringify drops such keys). */
function field(key: string, value: unknown): string {
  return value === undefined ? '' : `,${JSON.stringify(key)}:${JSON.stringify(value)}`;
}

function fragments(c: ContainerRecord): Fragments {
  let f = cache.get(c);
  if (f) return f;
  // The fixed fields come from summaryView itself, so the two shapes cannot drift apart.
  const v = summaryView(c);
  const head = field('Id', v.Id) + field('Names', v.Names) + field('Image', v.Image) + field('ImageID', v.ImageID) + field('Command', v.Command) + field('Created', v.Created);
  f = {
    head: `{${head.slice(1)}`,
    labelsState: field('Labels', v.Labels) + field('State', v.State),
    hostConfig: field('HostConfig', v.HostConfig),
    mounts: field('Mounts', v.Mounts),
  };
  cache.set(c, f);
  return f;
}

/** One container's summary as JSON text (the element of the list). */
export function summaryJson(c: ContainerRecord, sizes: { rw: number; rootFs: number } | undefined, network: NetworkSettings | undefined, now: number): string {
  const f = fragments(c);
  return f.head
    + `,"Ports":${JSON.stringify(portList(network))}`
    + f.labelsState
    + `,"Status":${JSON.stringify(statusText(c, now))}`
    + f.hostConfig
    + `,"NetworkSettings":{"Networks":${JSON.stringify(network?.Networks ?? {})}}`
    + f.mounts
    + (sizes ? `,"SizeRw":${JSON.stringify(sizes.rw)},"SizeRootFs":${JSON.stringify(sizes.rootFs)}` : '')
    + '}';
}

/** The whole list as the JSON text dockerd answers with (with the trailing newline of its encoder). */
export function summaryListJson(items: ReadonlyArray<{ c: ContainerRecord; sizes?: { rw: number; rootFs: number }; network?: NetworkSettings }>, now = Date.now()): string {
  let out = '[';
  for (let i = 0; i < items.length; i++) {
    const it = items[i]!;
    if (i) out += ',';
    out += summaryJson(it.c, it.sizes, it.network, now);
  }
  return out + ']\n';
}
