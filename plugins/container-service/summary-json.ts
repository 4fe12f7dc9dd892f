import type { ContainerRecord, NetworkSettings } from '../../kernel/index.js';
import { portList, statusSince, statusText, summaryView } from './container-view.js';
import { humanDurationStableFor } from './human-duration.js';

/**
 * `GET /containers/json` as JSON bytes, byte for byte what
 * `JSON.stringify(summaryView(...))` gives, without building and serialising
 * every container's summary on every request.
 *
 * `docker ps` pollers (compose, testcontainers, monitoring) list all
 * containers several times a second; building ~15-key objects per container
 * and serialising them again was most of the request's CPU. Records are
 * replaced, never mutated, when they change (ContainerStore.save), so what
 * follows from the record alone (Id, Names, Command, Labels, State, Mounts …)
 * is serialised once per record version and kept in a WeakMap. What changes
 * without a new record is checked per request: Status ("Up 3 seconds") is
 * recomputed only when its text can have changed (humanDurationStableFor),
 * Ports and Networks (network state) are compared as text; while all three
 * are unchanged the container's element is the same Buffer as last time, and
 * a list made of the same elements is the same body Buffer (nothing to
 * concatenate, encode or copy into V8 strings per request).
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
  /** The time the Status text counts from (ms), NaN when it does not depend on the clock. */
  sinceMs: number;
  /** The last Status text, and the clock range [from, until) over which it holds. */
  status?: { text: string; from: number; until: number };
  /** The last element (without its closing brace) and the per-request parts it was made from. */
  element?: { status: string; ports: string; networks: string; bytes: Buffer };
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
  const since = statusSince(c);
  f = {
    head: `{${head.slice(1)}`,
    labelsState: field('Labels', v.Labels) + field('State', v.State),
    hostConfig: field('HostConfig', v.HostConfig),
    mounts: field('Mounts', v.Mounts),
    sinceMs: since === undefined ? NaN : Date.parse(since),
  };
  cache.set(c, f);
  return f;
}

/** statusText(c, now), recomputed only when `now` leaves the range over which the last text holds. */
function status(c: ContainerRecord, f: Fragments, now: number): string {
  const s = f.status;
  if (s && now >= s.from && now < s.until) return s.text;
  const text = statusText(c, now);
  // A clock-free text ("Created", "Dead", a zero-time exit) holds forever; NaN (an unparsable time) is never cached.
  const until = Number.isNaN(f.sinceMs) ? (statusSince(c) === undefined ? Infinity : now) : now + humanDurationStableFor(now - f.sinceMs);
  f.status = { text, from: now, until };
  return text;
}

const EMPTY_PORTS = '[]';
const EMPTY_NETWORKS = '{}';

function portsJson(network: NetworkSettings | undefined): string {
  const ports = network?.Ports;
  if (!ports) return EMPTY_PORTS;
  for (const _ in ports) return JSON.stringify(portList(network));
  return EMPTY_PORTS;
}

function networksJson(network: NetworkSettings | undefined): string {
  const nets = network?.Networks;
  if (!nets) return EMPTY_NETWORKS;
  for (const _ in nets) return JSON.stringify(nets);
  return EMPTY_NETWORKS;
}

/** One container's element without its closing brace, the same Buffer while nothing in it changed. */
function element(c: ContainerRecord, network: NetworkSettings | undefined, now: number): Buffer {
  const f = fragments(c);
  const st = status(c, f, now);
  const ports = portsJson(network);
  const networks = networksJson(network);
  const e = f.element;
  if (e && e.status === st && e.ports === ports && e.networks === networks) return e.bytes;
  const text = f.head
    + `,"Ports":${ports}`
    + f.labelsState
    + `,"Status":${JSON.stringify(st)}`
    + f.hostConfig
    + `,"NetworkSettings":{"Networks":${networks}}`
    + f.mounts;
  const bytes = Buffer.from(text, 'utf8');
  f.element = { status: st, ports, networks, bytes };
  return bytes;
}

function sizesTail(sizes: { rw: number; rootFs: number }): string {
  return `,"SizeRw":${JSON.stringify(sizes.rw)},"SizeRootFs":${JSON.stringify(sizes.rootFs)}}`;
}

/** One container's summary as JSON text (the element of the list). */
export function summaryJson(c: ContainerRecord, sizes: { rw: number; rootFs: number } | undefined, network: NetworkSettings | undefined, now: number): string {
  return element(c, network, now).toString('utf8') + (sizes ? sizesTail(sizes) : '}');
}

export interface SummaryItem {
  c: ContainerRecord;
  sizes?: { rw: number; rootFs: number };
  network?: NetworkSettings;
}

const OPEN = Buffer.from('[');
const CLOSE_COMMA = Buffer.from('},');
const CLOSE_LAST = Buffer.from('}]\n');
const EMPTY_LIST = Buffer.from('[]\n');

/** The last list body and the elements it was made of (a poller asks for the same list over and over). */
let lastBody: { elements: Buffer[]; body: Buffer } | undefined;

/** The whole list as the JSON bytes dockerd answers with (with the trailing newline of its encoder). */
export function summaryListBody(items: readonly SummaryItem[], now = Date.now()): Buffer {
  if (items.length === 0) return EMPTY_LIST;
  const elements = new Array<Buffer>(items.length);
  let withSizes = false;
  for (let i = 0; i < items.length; i++) {
    const it = items[i]!;
    elements[i] = element(it.c, it.network, now);
    if (it.sizes) withSizes = true;
  }
  if (!withSizes && lastBody && sameElements(lastBody.elements, elements)) return lastBody.body;
  const parts: Buffer[] = [OPEN];
  for (let i = 0; i < items.length; i++) {
    const sizes = items[i]!.sizes;
    parts.push(elements[i]!);
    if (sizes) parts.push(Buffer.from(sizesTail(sizes).slice(0, -1) + (i === items.length - 1 ? '}]\n' : '},'), 'utf8'));
    else parts.push(i === items.length - 1 ? CLOSE_LAST : CLOSE_COMMA);
  }
  const body = Buffer.concat(parts);
  if (!withSizes) lastBody = { elements, body };
  return body;
}

function sameElements(a: readonly Buffer[], b: readonly Buffer[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The whole list as JSON text (summaryListBody as a string). */
export function summaryListJson(items: readonly SummaryItem[], now = Date.now()): string {
  return summaryListBody(items, now).toString('utf8');
}
