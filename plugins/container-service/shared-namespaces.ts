import { ensureShm, peerShmPath } from './ipc-shm.js';
import { ConflictError, InvalidParameterError, type ContainerRecord, type ContainerRunConfig, type HostConfig, type RunMount } from '../../kernel/index.js';

/**
 * `--pid`, `--ipc` and `--uts` modes as dockerd handles them.
 *
 * At create (verifyContainerSettings): the IPC mode is checked (`Invalid
 * IPC mode`), an empty one takes the daemon's `default-ipc-mode`, a
 * `container:<ref>` in either mode must name an existing container and is
 * stored as `container:<full id>`, and a hostname conflicts with `--uts host`.
 *
 * At start (moby WithNamespaces / setupIpcDirs): the other container must be
 * running; its namespaces are joined through `/proc/<pid>/ns/<type>`. An IPC
 * donor must be `shareable`: its /dev/shm is a tmpfs on the host (ipc-shm.ts)
 * which joiners bind too; `--ipc host` binds the host's /dev/shm.
 */
export function prepareNamespaceModes(hc: HostConfig, hostname: string | undefined, defaultIpcMode: string | undefined, resolve: (ref: string) => ContainerRecord): void {
  const ipc = typeof hc.IpcMode === 'string' ? hc.IpcMode : '';
  if (ipc !== '' && !validIpcMode(ipc)) throw new InvalidParameterError(`Invalid IPC mode: ${ipc}`);
  hc.IpcMode = ipc === '' ? defaultIpcMode || 'private' : ipc;
  for (const key of ['IpcMode', 'PidMode'] as const) {
    const mode = hc[key];
    if (typeof mode !== 'string' || !mode.startsWith('container:')) continue;
    // verifyContainerSettings errors are 400s, so the CLI reports them instead of trying to pull the image.
    try {
      hc[key] = `container:${resolve(mode.slice('container:'.length)).Id}`;
    } catch (err) {
      throw new InvalidParameterError((err as Error).message);
    }
  }
  const pid = typeof hc.PidMode === 'string' ? hc.PidMode : '';
  if (pid !== '' && pid !== 'host' && !pid.startsWith('container:')) throw new InvalidParameterError(`invalid PID mode: ${pid}`);
  const uts = typeof hc.UTSMode === 'string' ? hc.UTSMode : '';
  if (uts !== '' && uts !== 'host') throw new InvalidParameterError(`invalid UTS mode: ${uts}`);
  if (uts === 'host' && hostname) throw new InvalidParameterError('conflicting options: hostname and the UTS mode');
}

function validIpcMode(m: string): boolean {
  return ['private', 'shareable', 'host', 'none'].includes(m) || (m.startsWith('container:') && m.length > 'container:'.length);
}

export interface JoinedNamespaces {
  PidNamespacePath?: string;
  IpcNamespacePath?: string;
  /** A /dev/shm that replaces the container's own tmpfs (host or donor). */
  shm?: RunMount;
}

/**
 * The namespaces a starting container joins, and its /dev/shm when that is
 * not its own private tmpfs; errors with dockerd's wording when the other
 * container is not running. `dir` is the container's state directory.
 */
export async function joinNamespaces(hc: HostConfig, resolve: (ref: string) => ContainerRecord, dir: string): Promise<JoinedNamespaces> {
  const out: JoinedNamespaces = {};
  const pid = typeof hc.PidMode === 'string' ? hc.PidMode : '';
  if (pid.startsWith('container:')) {
    const ref = pid.slice('container:'.length);
    const peer = lookup(resolve, ref, (msg) => `cannot join PID of a non running container: ${ref}: ${msg}`);
    out.PidNamespacePath = `/proc/${running(peer).State.Pid}/ns/pid`;
  }
  const ipc = typeof hc.IpcMode === 'string' ? hc.IpcMode : '';
  if (ipc.startsWith('container:')) {
    const ref = ipc.slice('container:'.length);
    const prefix = `can't join IPC of container ${ref}`;
    const peer = lookup(resolve, ref, (msg) => `${prefix}: ${msg}`);
    try {
      running(peer);
    } catch (err) {
      throw new ConflictError(`${prefix}: ${(err as Error).message}`);
    }
    if (peer.HostConfig.IpcMode !== 'shareable') throw new ConflictError(`${prefix}: non-shareable IPC (hint: use IpcMode:shareable for the donor container)`);
    out.IpcNamespacePath = `/proc/${peer.State.Pid}/ns/ipc`;
    out.shm = { Source: peerShmPath(dir, peer.Id), Destination: '/dev/shm', Type: 'bind', Propagation: 'rprivate' };
  } else if (ipc === 'shareable') {
    out.shm = { Source: await ensureShm(dir, hc.ShmSize as number | undefined), Destination: '/dev/shm', Type: 'bind', Propagation: 'rprivate' };
  } else if (ipc === 'host') {
    out.shm = { Source: '/dev/shm', Destination: '/dev/shm', Type: 'bind', Propagation: 'rprivate' };
  }
  return out;
}

function lookup(resolve: (ref: string) => ContainerRecord, ref: string, wrap: (msg: string) => string): ContainerRecord {
  try {
    return resolve(ref);
  } catch (err) {
    const e = err as Error;
    e.message = wrap(e.message);
    throw e;
  }
}

/** checkContainer(containerIsRunning, containerIsNotRestarting). */
function running(c: ContainerRecord): ContainerRecord {
  if (!c.State.Running || !c.State.Pid) throw new ConflictError(`container ${c.Id} is not running`);
  if (c.State.Restarting) throw new ConflictError(`Container ${c.Id} is restarting, wait until the container is running`);
  return c;
}

/** The run configuration with the joined namespaces and /dev/shm (a user's own /dev/shm mount wins). */
export function withJoinedNamespaces(cfg: ContainerRunConfig, joined: JoinedNamespaces): ContainerRunConfig {
  const { shm, ...paths } = joined;
  const mounts = cfg.Mounts ?? [];
  const addShm = shm && !mounts.some((m) => m.Destination === '/dev/shm');
  return { ...cfg, HostConfig: { ...cfg.HostConfig, ...paths }, Mounts: addShm ? [...mounts, shm] : mounts };
}
