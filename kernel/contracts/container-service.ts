/**
 * The container service as the rest of the daemon sees it. The container API
 * is served from the same plugin; `/info` and `/system/df` need only this.
 */
export interface ContainerService {
  counts(): Promise<{ running: number; paused: number; stopped: number }>;
  dispose(): Promise<void>;
}
