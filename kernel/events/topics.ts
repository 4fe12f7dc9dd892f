/**
 * Every topic the kernel bus carries, with its payload type.
 *
 * `docker.event` is the Docker-visible event stream: its payload has exactly the
 * shape of a `GET /events` message (Type/Action/Actor), so the events endpoint is
 * a projection of the bus. The other topics are the kernel's own housekeeping.
 */
export interface DockerEventActor {
  ID: string;
  Attributes: Record<string, string>;
}

export interface DockerEvent {
  Type: 'container' | 'image' | 'volume' | 'network' | 'daemon' | 'plugin' | 'node' | 'service' | 'secret' | 'config';
  Action: string;
  Actor: DockerEventActor;
  scope: 'local' | 'swarm';
  /** Unix seconds. */
  time: number;
  /** Unix nanoseconds, as a number: exact to the microsecond, which is what clients compare. */
  timeNano: number;
}

export type PluginState = 'active' | 'skipped' | 'failed' | 'stopped' | 'disposed';

export interface KernelTopics {
  'docker.event': DockerEvent;
  'plugin.state': { id: string; point: string; name: string; state: PluginState; reason?: string; ms?: number };
  'plugin.swapping': { point: string; from: string; to: string };
  'plugin.swapped': { point: string; from: string; to: string };
  'config.reloaded': { changed: string[] };
}

/** Builds a Docker event stamped with the current time. */
export function dockerEvent(
  type: DockerEvent['Type'],
  action: string,
  id: string,
  attributes: Record<string, string> = {},
): DockerEvent {
  const nowNs = BigInt(Date.now()) * 1_000_000n + process.hrtime.bigint() % 1_000_000n;
  return {
    Type: type,
    Action: action,
    Actor: { ID: id, Attributes: attributes },
    scope: 'local',
    time: Number(nowNs / 1_000_000_000n),
    timeNano: Number(nowNs),
  };
}
