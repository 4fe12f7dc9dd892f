import { InvalidParameterError, type HostConfig } from '../../kernel/index.js';

const RESTART_POLICIES = ['', 'no', 'always', 'unless-stopped', 'on-failure'];

/** dockerd's create-time checks of HostConfig, with its wording. */
export function validateHostConfig(hc: HostConfig): void {
  const policy = hc.RestartPolicy?.Name ?? '';
  if (!RESTART_POLICIES.includes(policy)) throw new InvalidParameterError(`invalid restart policy '${policy}'`);
  const retries = hc.RestartPolicy?.MaximumRetryCount ?? 0;
  if (retries < 0) throw new InvalidParameterError('invalid restart policy: maximum retry count cannot be negative');
  if (retries > 0 && policy !== 'on-failure') {
    throw new InvalidParameterError("invalid restart policy: maximum retry count can only be used with 'on-failure'");
  }
  if (hc.AutoRemove && policy !== '' && policy !== 'no') {
    throw new InvalidParameterError("can't create 'AutoRemove' container with restart policy");
  }
}

/** The runtime a new container records: the request's, else daemon.json's default-runtime, else runc. */
export function chooseRuntime(requested: string | undefined, defaultRuntime: string | undefined, known: ReadonlySet<string>): string {
  const name = requested || defaultRuntime || 'runc';
  if (!known.has(name)) throw new InvalidParameterError(`unknown or invalid runtime name: ${name}`);
  return name;
}
