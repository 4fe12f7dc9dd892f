import { join } from 'node:path';
import {
  InvalidParameterError,
  type ContainerLogInfo,
  type ContainerLogger,
  type LogDriver,
  type LogEntry,
  type LogLineBatch,
  type LogReadOptions,
  type LogReader,
  type Logger,
} from '../../kernel/index.js';
import { marshalAttrs, marshalEntry } from './json-log-line.js';
import { extraAttributes } from './log-attrs.js';
import { marshalBatch } from './json-batch-encode.js';
import { readLogBatches, readLogFile } from './log-file-reader.js';
import { LogFileWriter } from './log-file-writer.js';
import { DRIVER_NAME, mergeDaemonOptions, parseRotation, validateLogOptions } from './log-options.js';

/** One container's open json-file log. */
class JsonFileLogger implements ContainerLogger {
  constructor(
    private readonly writer: LogFileWriter,
    private readonly attrsJson: string | undefined,
    private readonly maxFiles: number,
    private readonly onClose: (l: JsonFileLogger) => void,
  ) {}

  get path(): string {
    return this.writer.path;
  }

  write(entry: LogEntry): void {
    this.writer.write(marshalEntry(entry, this.attrsJson), entry);
  }

  /** The batch encoded into one buffer during the call (its lines are views the caller reuses). */
  writeBatch(batch: LogLineBatch): void {
    const { data, ends, count } = marshalBatch(batch, this.attrsJson, this.writer.room);
    const { times, timeIndex } = batch;
    const lastTimes = times.length === 1 ? undefined : timeIndex.slice(0, count);
    const only = times[0]!;
    this.writer.writeLines(data, ends, count, (i) => (lastTimes ? times[lastTimes[i]!]! : only));
  }

  flush(): Promise<void> {
    return this.writer.flush();
  }

  async close(): Promise<void> {
    this.onClose(this);
    await this.writer.close();
  }

  read(opts?: LogReadOptions): AsyncIterable<LogEntry> {
    return readLogFile(this.path, this.maxFiles, opts);
  }

  readBatches(opts?: LogReadOptions): AsyncIterable<LogLineBatch> {
    return readLogBatches(this.path, this.maxFiles, opts);
  }
}

/**
 * dockerd's default logging driver: `<container dir>/<id>-json.log` in
 * dockerd's format, rotated by max-size/max-file (gzipped with compress),
 * readable while written. Daemon-wide defaults are daemon.json `log-driver`
 * and `log-opts`, applied to containers by resolveOptions.
 */
export class JsonFileDriver implements LogDriver {
  readonly name = DRIVER_NAME;
  private readonly openLogs = new Set<JsonFileLogger>();

  constructor(
    private readonly daemonDriver: string,
    private readonly daemonOpts: Record<string, string>,
    private readonly log: Logger,
  ) {
    // dockerd's defaultLogConfig: refuse bad daemon-wide options up front.
    if (daemonDriver === DRIVER_NAME && Object.keys(daemonOpts).length > 0) {
      try {
        validateLogOptions(daemonOpts);
      } catch (err) {
        throw new InvalidParameterError(`failed to set log opts: ${(err as Error).message}`);
      }
    }
  }

  resolveOptions(containerOpts?: Record<string, string> | null): Record<string, string> {
    const merged = mergeDaemonOptions(containerOpts, this.daemonDriver, this.daemonOpts);
    validateLogOptions(merged);
    return merged;
  }

  validateOptions(opts: Record<string, string>): void {
    validateLogOptions(opts);
  }

  logPath(info: ContainerLogInfo): string {
    return join(info.dir, `${info.containerId}-json.log`);
  }

  async open(info: ContainerLogInfo): Promise<ContainerLogger> {
    validateLogOptions(info.config);
    const rotation = parseRotation(info.config);
    const attrs = marshalAttrs(extraAttributes(info));
    const writer = await LogFileWriter.open(this.logPath(info), rotation, this.log.child({ container: info.containerId }));
    const logger = new JsonFileLogger(writer, attrs, rotation.maxFiles, (l) => this.openLogs.delete(l));
    this.openLogs.add(logger);
    return logger;
  }

  reader(info: ContainerLogInfo): LogReader {
    let maxFiles = 1;
    try {
      maxFiles = parseRotation(info.config).maxFiles;
    } catch {
      // Options that cannot open a log still leave its current file readable.
    }
    const path = this.logPath(info);
    return { read: (opts) => readLogFile(path, maxFiles, opts), readBatches: (opts) => readLogBatches(path, maxFiles, opts) };
  }

  /** Closes the logs still open (their entries are flushed), so a shutdown loses nothing queued. */
  async dispose(): Promise<void> {
    await Promise.all([...this.openLogs].map((l) => l.close().catch((err) => this.log.warn('closing a container log failed', { error: err }))));
  }
}
