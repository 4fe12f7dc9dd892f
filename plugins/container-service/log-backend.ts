import {
  ExtensionPoint,
  InvalidParameterError,
  NotImplementedError,
  type ContainerLogInfo,
  type ContainerLogger,
  type ContainerRecord,
  type DaemonConfig,
  type HostConfig,
  type LogDriver,
  type LogReader,
  type PluginHost,
} from '../../kernel/index.js';
import { openSpoolCopy, spoolCopyPath, spoolCopyReader } from './spool-copy-log.js';

const JSON_FILE = 'json-file';

/**
 * Picks a container's log driver as dockerd does: `HostConfig.LogConfig.Type`,
 * else daemon.json `log-driver`; options merged and checked by the driver at
 * create. `none` keeps no log. Without a json-file plugin, json-file
 * containers log to a copy of their output spool (spool-copy-log.ts).
 */
export class LogBackend {
  constructor(private readonly host: PluginHost, private readonly daemon: () => Readonly<DaemonConfig>) {}

  /** dockerd's mergeAndVerifyLogConfig, for create. */
  resolve(cfg: HostConfig['LogConfig']): { Type: string; Config: Record<string, string> } {
    const type = cfg?.Type || (this.daemon()['log-driver'] as string | undefined) || JSON_FILE;
    if (type === 'none') return { Type: type, Config: { ...(cfg?.Config ?? {}) } };
    const driver = this.driver(type);
    if (driver) return { Type: type, Config: driver.resolveOptions(cfg?.Config ?? null) };
    if (type === JSON_FILE) return { Type: type, Config: { ...(cfg?.Config ?? {}) } };
    throw new InvalidParameterError(`logger: no log driver named '${type}' is registered`);
  }

  async open(c: ContainerRecord, dir: string): Promise<ContainerLogger | undefined> {
    const type = c.HostConfig.LogConfig?.Type ?? JSON_FILE;
    if (type === 'none') return undefined;
    const info = logInfo(c, dir);
    const driver = this.driver(type);
    if (driver) return driver.open(info);
    if (type === JSON_FILE) return openSpoolCopy(info);
    throw new InvalidParameterError(`failed to initialize logging driver: logger: no log driver named '${type}' is registered`);
  }

  reader(c: ContainerRecord, dir: string): LogReader {
    const type = c.HostConfig.LogConfig?.Type ?? JSON_FILE;
    const driver = type === 'none' ? undefined : this.driver(type);
    if (driver) return driver.reader(logInfo(c, dir));
    if (type === JSON_FILE) return spoolCopyReader(logInfo(c, dir));
    throw new NotImplementedError('configured logging driver does not support reading');
  }

  logPath(c: ContainerRecord, dir: string): string {
    const type = c.HostConfig.LogConfig?.Type ?? JSON_FILE;
    const driver = type === 'none' ? undefined : this.driver(type);
    if (driver) return driver.logPath(logInfo(c, dir));
    return type === JSON_FILE ? spoolCopyPath(logInfo(c, dir)) : '';
  }

  private driver(name: string): LogDriver | undefined {
    return this.host.all<LogDriver>(ExtensionPoint.LogDriver).get(name);
  }
}

/** dockerd's logger.Info for a container. */
export function logInfo(c: ContainerRecord, dir: string): ContainerLogInfo {
  return {
    containerId: c.Id,
    dir,
    config: c.HostConfig.LogConfig?.Config ?? {},
    containerName: c.Name,
    labels: c.Config.Labels ?? {},
    env: c.Config.Env ?? [],
    imageId: c.Image,
    imageName: c.ImageName,
    entrypoint: c.Path,
    args: c.Args,
    created: new Date(c.Created),
  };
}
