import type { ContainerConfig } from './image-store.js';

/**
 * The container service: the keeper of every container's configuration and
 * state, on top of the image store (what to run), the graph driver (its
 * root filesystem) and, once started, an exec driver (its processes).
 *
 * Containers are addressed as dockerd does: full ID, name (with or without
 * the leading "/"), or a unique ID prefix.
 */
export interface ContainerService {
  counts(): Promise<{ running: number; paused: number; stopped: number }>;
  create(req: CreateContainerRequest): Promise<{ id: string; warnings: string[] }>;
  /** Throws NotFoundError "No such container: <ref>". */
  get(ref: string): Promise<ContainerRecord>;
  list(): Promise<ContainerRecord[]>;
  rename(ref: string, newName: string): Promise<void>;
  remove(ref: string, opts: { force: boolean; removeVolumes: boolean }): Promise<void>;
  prune(filter: (c: ContainerRecord) => boolean): Promise<{ deleted: string[]; reclaimed: number }>;
  /** Size of the writable layer, and of the whole root filesystem. */
  sizes(ref: string): Promise<{ rw: number; rootFs: number }>;
  dispose(): Promise<void>;
}

export interface CreateContainerRequest {
  name?: string;
  config: ContainerConfig & { Image: string };
  hostConfig: HostConfig;
  networkingConfig?: { EndpointsConfig?: Record<string, unknown> | null } | null;
  platform?: string;
}

/** The part of Docker's HostConfig the service interprets; the rest is kept verbatim. */
export interface HostConfig {
  Binds?: string[] | null;
  AutoRemove?: boolean;
  NetworkMode?: string;
  RestartPolicy?: { Name?: string; MaximumRetryCount?: number };
  Runtime?: string;
  LogConfig?: { Type?: string; Config?: Record<string, string> };
  PortBindings?: Record<string, Array<{ HostIp?: string; HostPort?: string }> | null> | null;
  Privileged?: boolean;
  ReadonlyRootfs?: boolean;
  [key: string]: unknown;
}

export type ContainerStatus = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export interface ContainerState {
  Status: ContainerStatus;
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  Dead: boolean;
  Pid: number;
  ExitCode: number;
  Error: string;
  /** RFC 3339 with nanoseconds; Go's zero time "0001-01-01T00:00:00Z" when never started. */
  StartedAt: string;
  FinishedAt: string;
}

/** What the service persists for one container (`<data-root>/containers/<id>/config.v2.json`). */
export interface ContainerRecord {
  Id: string;
  /** With the leading "/", as dockerd stores it. */
  Name: string;
  Created: string;
  Path: string;
  Args: string[];
  /** Image ID (sha256:…). */
  Image: string;
  /** The image as the user named it, for `docker ps`. */
  ImageName: string;
  Config: ContainerConfig & { Image: string };
  HostConfig: HostConfig;
  NetworkingConfig: { EndpointsConfig: Record<string, unknown> };
  State: ContainerState;
  Driver: string;
  Runtime: string;
  RestartCount: number;
  /** Labels copy for filters; also in Config.Labels. */
  Platform: string;
}
