/**
 * Every extension point of Berth, declared once. A plugin manifest names the
 * point it serves by one of these ids; consumers look providers up by point,
 * never by plugin id (containerd's "plugins find each other by type").
 *
 * `single` points have one active provider, chosen by `selectKey` in
 * daemon.json (dockerd's own key where one exists) or, without it, by
 * dockerd's rule: a provider that already has state on disk, else the lowest
 * `priority` that activates. `multi` points run every provider that activates;
 * callers pick one by its Docker-visible name (e.g. a runtime name).
 */
export const ExtensionPoint = {
  /** Stores layers and prepares root filesystems (overlay2, btrfs, vfs, devicemapper). */
  GraphDriver: 'graph-driver.v1',
  /** Runs container processes (runc and other OCI runtimes, lxc). */
  ExecDriver: 'exec-driver.v1',
  /** Gives containers network connectivity (bridge, host, null, remote). */
  NetworkDriver: 'network-driver.v1',
  /** Networks, IPAM and container sandboxes on top of the network drivers (libnetwork's controller). */
  NetworkService: 'network-service.v1',
  /** Turns the newest API shapes into an older API version's shapes. */
  ApiAdapter: 'api-adapter.v1',
  /** Serves the Docker Engine HTTP API on the `hosts` addresses. */
  ApiServer: 'api-server.v1',
  /** Keeps the recent Docker events for `GET /events?since=`. */
  EventLog: 'event-log.v1',
  /** Facts about the host for `/info` and `/version`. */
  HostInfo: 'host-info.v1',
  /** Images, layers and references on top of the graph driver. */
  ImageStore: 'image-store.v1',
  /** Containers: create, run, inspect, remove. */
  ContainerService: 'container-service.v1',
  /** Named and anonymous volumes (the `local` driver and volume plugins). */
  VolumeService: 'volume-service.v1',
  /** Container log storage and reading (json-file, …), chosen by `log-driver`. */
  LogDriver: 'log-driver.v1',
  /** Pulls from and pushes to registries; `docker login` checks (the registry client). */
  Distribution: 'distribution.v1',
} as const;

export type ExtensionPointId = (typeof ExtensionPoint)[keyof typeof ExtensionPoint];

export interface PointDeclaration {
  id: ExtensionPointId;
  cardinality: 'single' | 'multi';
  /** daemon.json key whose value is the Docker-visible name of the provider to use. */
  selectKey?: string;
  /** Human name used in messages ("storage driver"). */
  title: string;
  /**
   * True when a provider keeps state under `<data-root>/<name>`; auto-selection
   * then prefers the provider whose directory is not empty, as dockerd does.
   */
  statefulByName?: boolean;
}

export const POINTS: Readonly<Record<ExtensionPointId, PointDeclaration>> = {
  'graph-driver.v1': { id: 'graph-driver.v1', cardinality: 'single', selectKey: 'storage-driver', title: 'storage driver', statefulByName: true },
  'exec-driver.v1': { id: 'exec-driver.v1', cardinality: 'multi', title: 'exec driver' },
  'network-driver.v1': { id: 'network-driver.v1', cardinality: 'multi', title: 'network driver' },
  'network-service.v1': { id: 'network-service.v1', cardinality: 'single', title: 'network service' },
  'api-adapter.v1': { id: 'api-adapter.v1', cardinality: 'multi', title: 'API version adapter' },
  'api-server.v1': { id: 'api-server.v1', cardinality: 'single', title: 'API server' },
  'event-log.v1': { id: 'event-log.v1', cardinality: 'single', title: 'event log' },
  'host-info.v1': { id: 'host-info.v1', cardinality: 'single', title: 'host information' },
  'image-store.v1': { id: 'image-store.v1', cardinality: 'single', title: 'image store' },
  'container-service.v1': { id: 'container-service.v1', cardinality: 'single', title: 'container service' },
  'volume-service.v1': { id: 'volume-service.v1', cardinality: 'single', title: 'volume service' },
  'log-driver.v1': { id: 'log-driver.v1', cardinality: 'multi', title: 'log driver' },
  'distribution.v1': { id: 'distribution.v1', cardinality: 'single', title: 'registry client' },
};
