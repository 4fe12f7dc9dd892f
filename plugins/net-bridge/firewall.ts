import type { Logger } from '../../kernel/index.js';
import { deleteRestore, jumpRules, rulesRestore, type BridgeRuleInput, type PortRuleInput } from './iptables-rules.js';
import { runCommand } from '../../lib/run-command.js';

/**
 * Applies Berth's rules to the host's iptables: the chain contents are
 * replaced atomically by one `iptables-restore --noflush` (declaring a
 * chain flushes it), the four jumps are added once. `clear()` removes the
 * jumps and the chains; it is also run at start, so the rules a berthd
 * killed with -9 left behind are gone before new ones are written.
 */
export class Firewall {
  private installed = false;
  private pending: Promise<void> = Promise.resolve();

  constructor(private readonly prefix: string, private readonly log: Logger) {}

  /** Writes the rules for this state (serialized: the last call wins). */
  apply(bridges: BridgeRuleInput[], ports: PortRuleInput[]): Promise<void> {
    const run = async () => {
      await runCommand('iptables-restore', ['--noflush', '-w'], rulesRestore(this.prefix, bridges, ports));
      if (!this.installed) {
        for (const [table, chain, rule] of jumpRules(this.prefix)) {
          const present = await runCommand('iptables', ['-w', '-t', table, '-C', chain, ...rule]).then(() => true, () => false);
          if (!present) await runCommand('iptables', ['-w', '-t', table, '-I', chain, ...rule]);
        }
        this.installed = true;
      }
    };
    this.pending = this.pending.then(run, run);
    return this.pending;
  }

  async clear(): Promise<void> {
    await this.pending.catch(() => undefined);
    for (const [table, chain, rule] of jumpRules(this.prefix)) {
      // A jump added twice (two starts racing a crash) is removed until none is left.
      for (let i = 0; i < 8; i++) {
        const ok = await runCommand('iptables', ['-w', '-t', table, '-D', chain, ...rule]).then(() => true, () => false);
        if (!ok) break;
      }
    }
    const existing = { nat: await this.chains('nat'), filter: await this.chains('filter') };
    const input = deleteRestore(this.prefix, existing);
    if (input) await runCommand('iptables-restore', ['--noflush', '-w'], input).catch((err: unknown) => this.log.warn('cannot delete iptables chains', { error: err }));
    this.installed = false;
  }

  private async chains(table: string): Promise<string[]> {
    const out = await runCommand('iptables', ['-w', '-t', table, '-S']).catch(() => '');
    return [...out.matchAll(/^-N (\S+)$/gm)].map((m) => m[1]!);
  }
}
