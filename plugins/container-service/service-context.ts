import type { ContainerRecord } from '../../kernel/index.js';
import type { ContainerStore } from './container-store.js';
import type { KeyedMutex } from '../../lib/keyed-mutex.js';
import type { ContainerRuntime } from './live-task.js';
import { RestartManager } from './restart-policy.js';
import type { LaunchDeps } from './task-launcher.js';
import type { Waiters } from './waiters.js';

/** What the parts of the container service share: records, in-memory runtimes, locks, waiters, events. */
export interface ServiceContext extends LaunchDeps {
  store: ContainerStore;
  waiters: Waiters;
  locks: KeyedMutex;
  runtimes: Map<string, ContainerRuntime>;
  /** Emits the Docker event `container <action>` with the container's name, image and labels. */
  emit(action: string, rec: ContainerRecord, extra?: Record<string, string>): void;
  /** Set while the daemon shuts down: exits then neither restart nor count as stopped by hand. */
  shuttingDown: boolean;
}

export function runtimeOf(ctx: ServiceContext, c: ContainerRecord): ContainerRuntime {
  let rt = ctx.runtimes.get(c.Id);
  if (!rt) {
    rt = { restart: new RestartManager(c.HostConfig.RestartPolicy, c.RestartCount), pendingOutput: new Set(), pendingStdin: new Set(), manualRestart: false };
    ctx.runtimes.set(c.Id, rt);
  }
  return rt;
}
