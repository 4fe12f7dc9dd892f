import { hostname } from 'node:os';
import { InvalidParameterError, type ContainerLogInfo } from '../../kernel/index.js';

/**
 * The `attrs` every line carries (logger.Info.ExtraAttributes plus the tag):
 * `labels`/`labels-regex` pick container labels, `env`/`env-regex` pick
 * environment variables, `tag` adds a rendered tag. Computed once per open.
 */
export function extraAttributes(info: ContainerLogInfo): Record<string, string> {
  const cfg = info.config;
  const extra: Record<string, string> = {};
  const labels = info.labels ?? {};
  if (cfg.labels) {
    for (const l of cfg.labels.split(',')) if (Object.hasOwn(labels, l)) extra[l] = labels[l]!;
  }
  if (cfg['labels-regex']) {
    const re = compile(cfg['labels-regex']);
    for (const [k, v] of Object.entries(labels)) if (re.test(k)) extra[k] = v;
  }
  const env = new Map<string, string>();
  for (const e of info.env ?? []) {
    const eq = e.indexOf('=');
    if (eq >= 0) env.set(e.slice(0, eq), e.slice(eq + 1));
  }
  if (env.size > 0 && cfg.env) {
    for (const k of cfg.env.split(',')) if (env.has(k)) extra[k] = env.get(k)!;
  }
  if (env.size > 0 && cfg['env-regex']) {
    const re = compile(cfg['env-regex']);
    for (const [k, v] of env) if (re.test(k)) extra[k] = v;
  }
  if (cfg.tag) {
    const tag = renderTag(cfg.tag, info);
    if (tag) extra.tag = tag;
  }
  return extra;
}

/**
 * loggerutils.ParseLogTag: the tag is a Go template over the container's
 * facts. The fields dockerd documents are supported, in any text around them
 * (`app/{{.Name}}/{{.ID}}`); anything else is refused rather than half-rendered.
 */
export function renderTag(template: string, info: ContainerLogInfo): string {
  const fields: Record<string, () => string> = {
    ID: () => truncateId(info.containerId),
    FullID: () => info.containerId,
    Name: () => (info.containerName ?? '').replace(/^\//, ''),
    Command: () => [info.entrypoint ?? '', ...(info.args ?? [])].join(' '),
    ImageID: () => truncateId(info.imageId ?? ''),
    ImageFullID: () => info.imageId ?? '',
    ImageName: () => info.imageName ?? '',
    Hostname: () => hostname(),
    DaemonName: () => info.daemonName ?? 'docker',
  };
  return template.replace(/\{\{-?\s*(.*?)\s*-?\}\}/g, (action: string, expr: string) => {
    const m = /^\.([A-Za-z_]\w*)$/.exec(expr);
    if (!m) throw new InvalidParameterError(`template: log-tag: unsupported action ${action} (use fields such as {{.Name}} or {{.ID}})`);
    const f = fields[m[1]!];
    if (!f) throw new InvalidParameterError(`template: log-tag:1: executing "log-tag" at <.${m[1]}>: can't evaluate field ${m[1]} in type *logger.Info`);
    return f();
  });
}

/** stringid.TruncateID: drop an algorithm prefix, keep 12 characters. */
function truncateId(id: string): string {
  const colon = id.indexOf(':');
  return (colon >= 0 ? id.slice(colon + 1) : id).slice(0, 12);
}

function compile(pattern: string): RegExp {
  try {
    return new RegExp(pattern);
  } catch (err) {
    throw new InvalidParameterError(`error parsing regexp: ${(err as Error).message}`);
  }
}
