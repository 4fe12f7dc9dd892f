import type { Logger } from '../../kernel/index.js';
import { clearRestore, parseSave, rulesRestore, rulesWithJumps, type BridgeRuleInput, type PortRuleInput, type RuleMode, type TableState } from './iptables-rules.js';
import { runCommand } from '../../lib/run-command.js';

/**
 * Applies Berth's rules to the host's iptables with as few processes as
 * possible (each costs milliseconds of daemon start-up): one `iptables-save`
 * to see what is there, then one `iptables-restore --noflush` that replaces
 * the chain contents atomically (declaring a chain flushes it) and adds the
 * jumps that are missing. `clear()` removes the jumps and the chains the same
 * way; it is also run at start, so the rules a berthd killed with -9 left
 * behind are gone before new ones are written.
 */
export class Firewall {
  private installed = false;
  private pending: Promise<void> = Promise.resolve();

  constructor(private readonly prefix: string, private readonly log: Logger, private readonly mode: RuleMode = {}) {}

  /** Writes the rules for this state (serialized: the last call wins). */
  apply(bridges: BridgeRuleInput[], ports: PortRuleInput[]): Promise<void> {
    const run = async () => {
      if (this.installed) {
        await runCommand('iptables-restore', ['--noflush', '-w'], rulesRestore(this.prefix, bridges, ports, this.mode));
        return;
      }
      await runCommand('iptables-restore', ['--noflush', '-w'], rulesWithJumps(this.prefix, bridges, ports, await this.save(), this.mode));
      this.installed = true;
    };
    this.pending = this.pending.then(run, run);
    return this.pending;
  }

  async clear(): Promise<void> {
    await this.pending.catch(() => undefined);
    const input = clearRestore(this.prefix, await this.save());
    if (input) await runCommand('iptables-restore', ['--noflush', '-w'], input).catch((err: unknown) => this.log.warn('cannot delete iptables chains', { error: err }));
    this.installed = false;
  }

  private async save(): Promise<Record<string, TableState>> {
    return parseSave(await runCommand('iptables-save', []));
  }
}
