import type { DaemonConfig } from '../config/daemon-config.js';
import { dockerEvent, type DockerEvent } from '../events/topics.js';

/** The keys dockerd reports in the attributes of its `daemon reload` event. */
const REPORTED = [
  'debug', 'labels', 'live-restore', 'shutdown-timeout', 'default-stop-timeout',
  'max-concurrent-downloads', 'max-concurrent-uploads', 'max-download-attempts',
  'insecure-registries', 'registry-mirrors', 'runtimes', 'default-runtime',
  'default-shm-size', 'default-ipc-mode', 'default-cgroupns-mode', 'features',
];

/** `{"Type":"daemon","Action":"reload"}` with the new values as string attributes. */
export function reloadEvent(config: Readonly<DaemonConfig>, identity: { id: string; name: string }): DockerEvent {
  const attrs: Record<string, string> = {};
  for (const key of REPORTED) {
    const v = config[key];
    if (v === undefined) continue;
    attrs[key] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  attrs.name = identity.name;
  return dockerEvent('daemon', 'reload', identity.id, attrs);
}
