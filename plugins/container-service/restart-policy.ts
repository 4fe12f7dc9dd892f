import type { HostConfig } from '../../kernel/index.js';

const BACKOFF_MULTIPLIER = 2;
const DEFAULT_DELAY_MS = 100;
const MAX_DELAY_MS = 60_000;

export interface RestartDecision {
  restart: boolean;
  /** How long to wait before starting again. */
  delayMs: number;
}

/**
 * dockerd's restartmanager for one container: `always`, `unless-stopped`
 * (unless stopped by hand), `on-failure[:N]` (non-zero exits, at most N
 * restarts); the delay doubles from 100 ms up to a minute, and starts over
 * once a run lasted ten seconds. `cancel` (a stop or kill by the user)
 * ends restarting for the rest of this run.
 */
export class RestartManager {
  private delayMs = 0;
  private canceled = false;

  constructor(
    private readonly policy: HostConfig['RestartPolicy'],
    private restartCount: number,
  ) {}

  get isNone(): boolean {
    const name = this.policy?.Name ?? '';
    return name === '' || name === 'no';
  }

  cancel(): void {
    this.canceled = true;
  }

  get isCanceled(): boolean {
    return this.canceled;
  }

  shouldRestart(exitCode: number, manuallyStopped: boolean, runMs: number): RestartDecision {
    if (this.isNone || this.canceled) return { restart: false, delayMs: 0 };
    if (runMs >= 10_000) this.delayMs = 0;
    this.delayMs = this.delayMs === 0 ? DEFAULT_DELAY_MS : Math.min(this.delayMs * BACKOFF_MULTIPLIER, MAX_DELAY_MS);
    let restart = false;
    switch (this.policy?.Name) {
      case 'always':
        restart = true;
        break;
      case 'unless-stopped':
        restart = !manuallyStopped;
        break;
      case 'on-failure': {
        const max = this.policy.MaximumRetryCount ?? 0;
        if (max === 0 || this.restartCount < max) restart = exitCode !== 0;
        break;
      }
    }
    if (restart) this.restartCount++;
    return { restart, delayMs: this.delayMs };
  }
}
