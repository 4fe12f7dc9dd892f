import type { ContainerLogger, ExecDriver, Lease, Task } from '../../kernel/index.js';
import type { OutputPump, OutputSubscriber } from './output-pump.js';
import type { RestartManager } from './restart-policy.js';
import type { SpoolOffset } from './spool-offset.js';

/** A container's task while it exists, with everything held for it. */
export interface LiveTask {
  task: Task;
  /** Keeps the exec driver instance that runs the task alive across a reload. */
  lease: Lease<ExecDriver>;
  pump: OutputPump;
  offset: SpoolOffset;
  logger?: ContainerLogger;
  startedAtMs: number;
  /** Settles once the exit was handled. */
  exited?: Promise<void>;
}

/** A client's stdin waiting for the container's next start (`docker run -i` attaches before start). */
export interface PendingStdin {
  input: NodeJS.ReadableStream;
  linked(link: { detach(): void }): void;
}

/** What the service keeps in memory per container, running or not. */
export interface ContainerRuntime {
  live?: LiveTask;
  restart: RestartManager;
  /** Attached clients waiting for the next start. */
  pendingOutput: Set<OutputSubscriber>;
  pendingStdin: Set<PendingStdin>;
  /** `docker restart` in progress: the exit it causes must not auto-remove. */
  manualRestart: boolean;
  restartTimer?: NodeJS.Timeout;
}
