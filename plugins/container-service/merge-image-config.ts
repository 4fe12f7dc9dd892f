import { InvalidParameterError, type ContainerConfig } from '../../kernel/index.js';

/**
 * Fills a create request's Config from the image's, as dockerd's merge does:
 * the image's Cmd only when neither Cmd nor Entrypoint was given, its
 * Entrypoint only when none was given, Env by key (the request wins), and
 * ports, volumes and labels as unions.
 */
export function mergeImageConfig<T extends ContainerConfig>(user: T, image: ContainerConfig | null | undefined): T & ContainerConfig {
  const out: T & ContainerConfig = { ...user };
  if (!image) return out;
  if (!out.Entrypoint?.length) {
    if (!out.Cmd?.length) out.Cmd = image.Cmd ?? null;
    if (out.Entrypoint == null) out.Entrypoint = image.Entrypoint ?? null;
  }
  out.Env = mergeEnv(image.Env ?? [], out.Env ?? []);
  if (!out.WorkingDir) out.WorkingDir = image.WorkingDir ?? '';
  if (!out.User) out.User = image.User ?? '';
  out.ExposedPorts = union(image.ExposedPorts, out.ExposedPorts);
  out.Volumes = union(image.Volumes, out.Volumes);
  out.Labels = { ...(image.Labels ?? {}), ...(out.Labels ?? {}) };
  if (!out.StopSignal && image.StopSignal) out.StopSignal = image.StopSignal;
  if (!out.Healthcheck && image.Healthcheck) out.Healthcheck = image.Healthcheck;
  if (!out.OnBuild && image.OnBuild) out.OnBuild = image.OnBuild;
  return out;
}

/** Path and Args of the container's first process: Entrypoint then Cmd. */
export function commandOf(config: ContainerConfig): { path: string; args: string[] } {
  const argv = [...(config.Entrypoint ?? []), ...(config.Cmd ?? [])];
  if (argv.length === 0) throw new InvalidParameterError('No command specified');
  return { path: argv[0]!, args: argv.slice(1) };
}

function mergeEnv(base: string[], over: string[]): string[] {
  const keyOf = (e: string) => (e.includes('=') ? e.slice(0, e.indexOf('=')) : e);
  const overridden = new Set(over.map(keyOf));
  return [...base.filter((e) => !overridden.has(keyOf(e))), ...over];
}

function union(a?: Record<string, object> | null, b?: Record<string, object> | null): Record<string, object> | null {
  if (!a && !b) return null;
  return { ...(a ?? {}), ...(b ?? {}) };
}
