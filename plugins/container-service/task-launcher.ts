import {
  ConflictError,
  ExtensionPoint,
  InvalidParameterError,
  NotFoundError,
  type ContainerRecord,
  type ContainerRunConfig,
  type DaemonConfig,
  type ExecDriver,
  type GraphDriver,
  type HostConfigSubset,
  type Lease,
  type Logger,
  type NetworkService,
  type PluginHost,
  type RunMount,
} from '../../kernel/index.js';
import { join } from 'node:path';
import { etcMounts, writeEtcFiles, type EtcFiles } from './etc-files.js';
import type { LiveTask } from './live-task.js';
import type { LogBackend } from './log-backend.js';
import { OutputPump } from './output-pump.js';
import { SpoolOffset } from './spool-offset.js';
import type { VolumeMounts } from './volume-mounts.js';
import { joinNamespaces, withJoinedNamespaces } from './shared-namespaces.js';

export interface LaunchDeps {
  host: PluginHost;
  logs: LogBackend;
  volumes: VolumeMounts;
  log: Logger;
  daemon(): Readonly<DaemonConfig>;
  /** The running container `--network container:<ref>` joins (ConflictError when it is not running). */
  networkPeer(ref: string): ContainerRecord;
  /** Any container by reference (NotFoundError), for `--pid`/`--ipc container:<id>`. */
  resolveContainer(ref: string): ContainerRecord;
}

/**
 * Turns a container record into a created (not yet started) task, the way
 * dockerd's containerStart prepares one: the exec driver that serves the
 * container's runtime (held by a lease), the root filesystem mounted by the
 * graph driver, the /etc files written, the log opened, and the output pump
 * on the task's spool. Everything taken is given back if a step fails.
 */
export async function launchTask(deps: LaunchDeps, c: ContainerRecord, dir: string): Promise<{ live: LiveTask; etc: EtcFiles }> {
  const graph = deps.host.current<GraphDriver>(ExtensionPoint.GraphDriver);
  // Its layers stay with the storage driver it was created on (a storage-driver change needs that driver back).
  if (c.Driver && c.Driver !== graph.name) {
    throw new ConflictError(`container ${c.Id.slice(0, 12)} was created with storage driver ${c.Driver}, and the daemon runs ${graph.name}: its filesystem is only available with "storage-driver": "${c.Driver}"`);
  }
  const joined = await joinNamespaces(c.HostConfig, deps.resolveContainer, dir);
  const lease = acquireDriver(deps.host, c.Runtime);
  const undo: Array<() => Promise<unknown>> = [async () => lease.release()];
  try {
    // `--network container:<ref>` shares the other container's namespace and its /etc files, as dockerd does.
    const peer = c.HostConfig.NetworkMode?.startsWith('container:') ? deps.networkPeer(c.HostConfig.NetworkMode.slice('container:'.length)) : undefined;
    const networks = peer ? undefined : deps.host.tryCurrent<NetworkService>(ExtensionPoint.NetworkService);
    // The steps below need nothing of each other, and each waits on its own I/O or
    // process (mount, the network sandbox, file writes): they run side by side. Each
    // registers its undo as soon as it has taken something, so a failure anywhere
    // gives back everything; the error reported is the first in dockerd's order.
    const [rootfs, net, mounts, logger] = await allOrFirstError([
      graph.get(c.Id).then((path) => {
        undo.push(() => graph.put(c.Id));
        return path;
      }),
      (async () => {
        // The network sandbox (bridge and user networks) before the /etc files, which list its addresses.
        const sandbox = networks ? await networks.attach(c, { hostsPath: join(dir, 'hosts') }) : undefined;
        if (networks) undo.push(() => networks.detach(c.Id));
        const etc: EtcFiles = peer?.HostsPath
          ? { HostsPath: peer.HostsPath, HostnamePath: peer.HostnamePath!, ResolvConfPath: peer.ResolvConfPath! }
          : await writeEtcFiles(dir, c, deps.daemon(), sandbox?.etc);
        return { sandbox, etc };
      })(),
      deps.volumes.mount(c).then((m) => {
        undo.push(() => deps.volumes.unmount(c));
        return m;
      }),
      deps.logs.open(c, dir).then((l) => {
        if (l) undo.push(() => l.close());
        return l;
      }),
      // A task left by a crash between its creation and the record's update.
      lease.instance.restore(c.Id).then((stale) => stale?.delete({ force: true })),
    ] as const);
    const { sandbox, etc } = net;
    const tty = c.Config.Tty === true;
    const task = await lease.instance.create({
      id: c.Id,
      runtime: c.Runtime,
      rootfs,
      config: withJoinedNamespaces(runConfig(c, etc, mounts, peer ? `/proc/${peer.State.Pid}/ns/net` : sandbox?.key, sandbox?.env), joined),
      // A TTY's stdin stays open when a client goes (dockerd closes it only for non-TTY StdinOnce).
      io: { terminal: tty, stdinOnce: tty ? false : c.Config.StdinOnce === true },
    });
    const offset = new SpoolOffset(dir);
    const pump = new OutputPump(task.output.path, 0, { terminal: tty, logger, onOffset: (n) => offset.set(n) });
    return { live: { task, lease, pump, offset, logger, startedAtMs: Date.now() }, etc };
  } catch (err) {
    for (const u of undo.reverse()) await u().catch((e) => deps.log.warn('cleanup after a failed start', { container: c.Id, error: e }));
    throw err;
  }
}

/**
 * Settles every step, then returns their values in order, or throws the
 * error of the first step (in the order given) that failed: unlike
 * Promise.all, nothing is still running when the caller starts undoing.
 */
async function allOrFirstError<T extends readonly unknown[]>(steps: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const settled = await Promise.allSettled(steps);
  for (const s of settled) if (s.status === 'rejected') throw s.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/**
 * Gives back what launchTask took; the task itself is deleted first when
 * asked. With `handOff` (an exited task whose container is removed next) the
 * task's deletion is not waited for: it is returned, still running, for the
 * removal to overlap its own work with and to wait for before it reports; the
 * lease on the driver is given back when it is done.
 */
export async function releaseTask(deps: LaunchDeps, c: ContainerRecord, live: LiveTask, opts: { deleteTask: boolean; exited?: boolean; handOff?: boolean }): Promise<{ taskDeleted: Promise<void> }> {
  const warn = (what: string) => (err: unknown) => deps.log.warn(what, { container: c.Id, error: err });
  const closeStreams = async () => {
    await live.pump.stop().catch(warn('stopping the output pump'));
    await live.logger?.close().catch(warn('closing the log'));
  };
  const done = { taskDeleted: Promise.resolve() };
  if (!opts.deleteTask) {
    await closeStreams();
    await live.offset.flush();
    live.lease.release();
    return done;
  }
  const unmount = async () => {
    await deps.volumes.unmount(c);
    await deps.host.tryCurrent<GraphDriver>(ExtensionPoint.GraphDriver)?.put(c.Id).catch(warn('unmounting the root filesystem'));
  };
  const deleteTask = async () => {
    await live.task.delete({ force: true }).catch(warn('deleting the task'));
    await live.offset.remove().catch(warn('removing the spool offset'));
  };
  const releaseNetwork = async () => {
    await deps.host.tryCurrent<NetworkService>(ExtensionPoint.NetworkService)?.detach(c.Id).catch(warn('releasing the network sandbox'));
  };
  if (!opts.exited) {
    // The process may still run: the task must be gone before its mounts and its network.
    await closeStreams();
    await deleteTask();
    await unmount();
    await releaseNetwork();
    live.lease.release();
    return done;
  }
  // Once the process has exited nothing uses its mounts or its network: the runtime's delete,
  // the unmounts and the sandbox release (each processes or file-system round trips of their own)
  // overlap. Only the task's deletion waits for the output pump, which reads the spool it removes.
  const streamsClosed = closeStreams();
  const taskDeleted = streamsClosed.then(deleteTask).finally(() => live.lease.release());
  if (opts.handOff) {
    await Promise.all([streamsClosed, unmount(), releaseNetwork()]);
    return { taskDeleted };
  }
  await Promise.all([taskDeleted, unmount(), releaseNetwork()]);
  return done;
}

/** The lease on the exec driver serving `runtime` (dockerd's per-container runtime). */
export function acquireDriver(host: PluginHost, runtime: string): Lease<ExecDriver> {
  for (const [name, driver] of host.all<ExecDriver>(ExtensionPoint.ExecDriver)) {
    if (!driver.runtimes().some((r) => r.name === runtime)) continue;
    const slot = host.slot<ExecDriver>(ExtensionPoint.ExecDriver, name);
    if (slot) return slot.acquire();
  }
  if (host.all(ExtensionPoint.ExecDriver).size === 0) throw new NotFoundError('no exec driver is active: containers cannot run on this host');
  throw new InvalidParameterError(`unknown or invalid runtime name: ${runtime}`);
}

/** The Docker-shaped run configuration the exec driver takes: the record as it is, plus the mounts. */
export function runConfig(c: ContainerRecord, etc: EtcFiles, mounts: RunMount[], netns?: string, linkEnv: string[] = []): ContainerRunConfig {
  const own = c.Config.Env ?? [];
  // Link variables first; the container's own of the same name replace them (dockerd's ReplaceOrAppendEnvValues).
  const ownNames = new Set(own.map((v) => v.split('=')[0]));
  const hc = c.HostConfig as HostConfigSubset & Record<string, unknown>;
  const dests = new Set(mounts.map((m) => m.Destination));
  return {
    Path: c.Path,
    Args: c.Args,
    Config: {
      Env: linkEnv.length ? [...linkEnv.filter((v) => !ownNames.has(v.split('=')[0])), ...own] : own,
      WorkingDir: c.Config.WorkingDir,
      User: c.Config.User,
      Hostname: c.Config.Hostname,
      Domainname: c.Config.Domainname,
      Tty: c.Config.Tty,
      OpenStdin: c.Config.OpenStdin,
      StdinOnce: c.Config.StdinOnce,
    },
    HostConfig: { ...hc, NetworkMode: hc.NetworkMode === 'default' ? 'bridge' : hc.NetworkMode, ...(netns ? { NetworkNamespacePath: netns } : {}) },
    Mounts: [...etcMounts(etc, c.HostConfig.ReadonlyRootfs === true, dests), ...mounts],
  };
}
