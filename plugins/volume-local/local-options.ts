import { InvalidParameterError } from '../../kernel/index.js';
import { ramInBytes } from '../../lib/go-size.js';
import { goQuote } from './volume-names.js';

/** The driver options the local driver accepts (local_unix.go validOpts). */
const VALID_OPTS = ['type', 'o', 'device', 'size'];
/** An option that needs others (mandatoryOpts), checked in this order. */
const MANDATORY: Array<[string, string[]]> = [['device', ['type']], ['type', ['device']], ['o', ['device', 'type']]];

/**
 * How a local volume with options is mounted, as dockerd persists it in the
 * volume's `opts.json` (optsConfig). Quota stays 0: Berth has no project quotas.
 */
export interface MountOptions {
  MountType: string;
  MountOpts: string;
  MountDevice: string;
  Quota: { Size: number };
}

/**
 * The local driver's validateOpts, with dockerd's messages (the caller adds
 * `create <name>: `). There is no quota support, so `size` > 0 is refused as
 * dockerd refuses it on a backing filesystem without project quotas.
 */
export function validateLocalOptions(opts: Record<string, string> | null | undefined): void {
  if (!opts || Object.keys(opts).length === 0) return;
  for (const key of Object.keys(opts)) {
    if (!VALID_OPTS.includes(key)) throw new InvalidParameterError(`invalid option: ${goQuote(key)}`);
  }
  if (opts.type === 'cifs' && opts.device) checkCifsDevice(opts.device);
  if ('size' in opts) {
    let size: number;
    try {
      size = ramInBytes(opts.size!);
    } catch (err) {
      throw new InvalidParameterError((err as Error).message);
    }
    if (size > 0) throw new InvalidParameterError('quota size requested but no quota support');
  }
  for (const [opt, required] of MANDATORY) {
    if (!(opt in opts)) continue;
    for (const r of required) {
      if (!(r in opts)) throw new InvalidParameterError(`missing required option: ${goQuote(r)}`);
    }
  }
}

/** The optsConfig dockerd derives from the options, or undefined when there are none. */
export function mountOptionsOf(opts: Record<string, string> | null | undefined): MountOptions | undefined {
  if (!opts || Object.keys(opts).length === 0) return undefined;
  return { MountType: opts.type ?? '', MountOpts: opts.o ?? '', MountDevice: opts.device ?? '', Quota: { Size: 0 } };
}

/** needsMount: a device or a type means the data directory is a mount point. */
export function needsMount(m: MountOptions | undefined): m is MountOptions {
  return !!m && (m.MountDevice !== '' || m.MountType !== '');
}

/**
 * dockerd parses the device as a URL and refuses a port in it (the port goes in
 * `o=`). Go's url.Parse accepts `//server/share`, so only the authority is read here.
 */
function checkCifsDevice(device: string): void {
  const authority = /^(?:[a-zA-Z][a-zA-Z0-9+.-]*:)?\/\/([^/?#]*)/.exec(device)?.[1];
  if (authority === undefined) return;
  const host = authority.slice(authority.lastIndexOf('@') + 1);
  const port = /^(?:\[[^\]]*\]|[^:]*):(\d*)$/.exec(host)?.[1];
  if (port) throw new InvalidParameterError("port not allowed in CIFS device URL, include 'port' in 'o='");
}
