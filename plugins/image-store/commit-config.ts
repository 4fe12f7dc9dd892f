import type { ContainerConfig } from '../../kernel/index.js';
import { applyChanges } from './dockerfile-changes.js';

/**
 * The config of a committed image, as dockerd's CreateImageFromContainer
 * makes it: the `--change` lines applied to the request's config
 * (dockerfile.BuildFromConfig), then daemon/commit.go's merge() filling
 * what that config leaves unset from the container's own config.
 */
export function commitConfig(base: ContainerConfig, changes: readonly string[], container: ContainerConfig): ContainerConfig {
  const user = structuredClone(applyChanges(base, changes));
  const image = container;
  if (!user.User) user.User = image.User;
  if (!user.ExposedPorts || Object.keys(user.ExposedPorts).length === 0) user.ExposedPorts = image.ExposedPorts;
  else for (const port of Object.keys(image.ExposedPorts ?? {})) user.ExposedPorts[port] ??= {};
  if (!user.Env || user.Env.length === 0) user.Env = image.Env;
  else {
    const keys = new Set(user.Env.map((e) => e.split('=')[0]));
    for (const e of image.Env ?? []) if (!keys.has(e.split('=')[0])) user.Env.push(e);
  }
  user.Labels ??= {};
  for (const [k, v] of Object.entries(image.Labels ?? {})) if (!(k in user.Labels)) user.Labels[k] = v;
  if (!user.Entrypoint || user.Entrypoint.length === 0) {
    if (!user.Cmd || user.Cmd.length === 0) {
      user.Cmd = image.Cmd;
      user.Shell = image.Shell;
    }
    // A nil entrypoint inherits; an explicitly empty one (ENTRYPOINT []) stays empty.
    if (user.Entrypoint === undefined || user.Entrypoint === null) user.Entrypoint = image.Entrypoint;
  }
  if (image.Healthcheck) {
    if (!user.Healthcheck) user.Healthcheck = image.Healthcheck;
    else {
      const h = user.Healthcheck;
      if (!h.Test || h.Test.length === 0) h.Test = image.Healthcheck.Test;
      if (!h.Interval) h.Interval = image.Healthcheck.Interval;
      if (!h.Timeout) h.Timeout = image.Healthcheck.Timeout;
      if (!h.StartPeriod) h.StartPeriod = image.Healthcheck.StartPeriod;
      if (!h.StartInterval) h.StartInterval = image.Healthcheck.StartInterval;
      if (!h.Retries) h.Retries = image.Healthcheck.Retries;
    }
  }
  if (!user.WorkingDir) user.WorkingDir = image.WorkingDir;
  if (!user.Volumes || Object.keys(user.Volumes).length === 0) user.Volumes = image.Volumes;
  else Object.assign(user.Volumes, image.Volumes ?? {});
  if (!user.StopSignal) user.StopSignal = image.StopSignal;
  return user;
}
