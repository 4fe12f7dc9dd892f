/**
 * Container log storage, as dockerd's logging drivers (daemon/logger): a
 * driver opens one Logger per container start, the container service writes
 * every line of output to it, and `docker logs` reads it back — while the
 * container runs (follow) or after it stopped.
 *
 * Providers are `multi`: every driver activates and the container service
 * picks one by the container's `HostConfig.LogConfig.Type`, defaulting to
 * daemon.json `log-driver` (json-file). Option errors carry dockerd's wording
 * (`unknown log opt 'x' for json-file log driver`, `max-file cannot be less than 1`).
 */

/** One log message: a line of output, or one chunk of a very long line. */
export interface LogEntry {
  stream: 'stdout' | 'stderr';
  /** The bytes of the line without its trailing newline. */
  line: Buffer;
  /** When the line was read from the container. */
  time: Date;
  /**
   * The same instant in Unix nanoseconds, when known that precisely. Writers
   * prefer it over `time` (a Date keeps milliseconds only); readers set both.
   */
  timeNano?: bigint;
  /** A chunk of a longer line: no newline is stored after it (dockerd's PLogMetaData, not last). */
  partial?: boolean;
  /** Extra attributes the `labels`/`env`/`tag` log-opts add to every line; set by readers. */
  attrs?: Record<string, string>;
}

/** LogLineBatch flags of one line. */
export const LOG_LINE_STDERR = 1;
export const LOG_LINE_PARTIAL = 2;

/**
 * Many log lines at once, as views into one buffer: what an output copier
 * read in one go, or what a log reader decoded from one block of its file.
 * Copying 50 MB of 100-byte lines is half a million lines; an object, a
 * Buffer view and a Date per line cost more than the bytes themselves, so
 * the hot paths pass lines as offsets. Line i is `data[start[i], end[i])`
 * (its bytes without the newline), its flags are `flags[i]`
 * (LOG_LINE_STDERR, LOG_LINE_PARTIAL), and it happened at
 * `times[timeIndex[i]]` in Unix nanoseconds (lines read together share a
 * time). A batch is only valid during the call it is passed to, or until
 * the next batch is asked for from an iterator.
 */
export interface LogLineBatch {
  data: Buffer;
  count: number;
  start: Uint32Array;
  end: Uint32Array;
  flags: Uint8Array;
  timeIndex: Uint32Array;
  times: bigint[];
  /** Line i's extra attributes (readers, when the log stores any). */
  attrs?: Array<Record<string, string> | undefined>;
  /**
   * Set by a reader that hands its lines out already framed as Docker's
   * multiplexed stream frames them (stdcopy: stream byte 1 stdout / 2
   * stderr, three zero bytes, the big-endian length of the line and its
   * newline): each line preceded by its 8-byte header, a full line followed
   * by its newline, lines back to back. `docker logs` without a TTY,
   * timestamps or details then sends `data[start[0] - 8, end of the last
   * line and its newline)` as it is, with no work per line.
   */
  framed?: boolean;
}

export interface LogReadOptions {
  /** Only entries at or after this instant (Date, or Unix nanoseconds). */
  since?: Date | bigint;
  /** Stop at the first entry after this instant. */
  until?: Date | bigint;
  /** Only the last N lines of what is stored; absent or negative: all; 0: none. */
  tail?: number;
  /**
   * Keep reading what is written after the stored lines, across rotations,
   * until `signal` aborts, `until` passes, or the container's Logger closes.
   * A log no Logger in this process writes (a stopped container, another
   * process) is followed until the signal aborts: dockerd follows only
   * running containers, and so should callers.
   */
  follow?: boolean;
  signal?: AbortSignal;
}

/** What a driver knows about the container it logs for (dockerd's logger.Info). */
export interface ContainerLogInfo {
  containerId: string;
  /** The container's directory; file drivers keep their files there. */
  dir: string;
  /** The container's log-opts, after `resolveOptions`. */
  config: Record<string, string>;
  /** With or without the leading "/". */
  containerName?: string;
  labels?: Record<string, string>;
  /** `KEY=value` strings. */
  env?: string[];
  imageId?: string;
  imageName?: string;
  entrypoint?: string;
  args?: string[];
  created?: Date;
  daemonName?: string;
}

export interface LogReader {
  read(opts?: LogReadOptions): AsyncIterable<LogEntry>;
  /** The same read in batches (optional: a reader without it is read entry by entry). */
  readBatches?(opts?: LogReadOptions): AsyncIterable<LogLineBatch>;
}

/** One container's log, open for writing from start to stop. */
export interface ContainerLogger extends LogReader {
  /** The file it writes (inspect's `LogPath`), or '' for drivers without one. */
  readonly path: string;
  /**
   * Queues one entry; never throws for I/O (a failed write is logged and
   * surfaces from `flush`/`close`), so output copying never stalls on it.
   * `entry.line` may be a view into the caller's read buffer, valid only
   * during the call: a logger encodes or copies it before returning.
   */
  write(entry: LogEntry): void;
  /** Queues every line of a batch, as `write` of each in order would (optional, same rules). */
  writeBatch?(batch: LogLineBatch): void;
  /** Resolves once everything written so far is in the file. */
  flush(): Promise<void>;
  /** Flushes, closes, and ends the follows of this log. Idempotent. */
  close(): Promise<void>;
}

export interface LogDriver {
  /** Docker-visible name (`json-file`). */
  readonly name: string;
  /**
   * A container's log-opts merged as dockerd's mergeAndVerifyLogConfig does:
   * daemon.json `log-opts` fill the keys the container did not set when this
   * driver is the daemon's `log-driver`; then validated (throws InvalidParameterError).
   * The container service stores the result in HostConfig.LogConfig.Config.
   */
  resolveOptions(containerOpts?: Record<string, string> | null): Record<string, string>;
  /** dockerd's ValidateLogOpts for this driver: option names and the generic `mode`/`max-buffer-size`. */
  validateOptions(opts: Record<string, string>): void;
  /** Where this container's log lives (for inspect before the first start). */
  logPath(info: ContainerLogInfo): string;
  /** Opens (creates or appends to) the container's log; option values are checked here, as dockerd's New. */
  open(info: ContainerLogInfo): Promise<ContainerLogger>;
  /** Reads a container's stored log without opening it for writing (a stopped container). */
  reader(info: ContainerLogInfo): LogReader;
}
