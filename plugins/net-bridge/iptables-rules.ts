/**
 * Berth's iptables rules, generated whole from the driver's state (pure, so
 * the layout is unit-tested). The layout is dockerd's (libnetwork
 * iptables.go, bridge/setup_ip_tables.go) with every chain under one
 * per-daemon prefix: built-in chains get exactly one jump each, so removing
 * Berth is removing those jumps and its chains, and two daemons with
 * different prefixes never touch each other's rules.
 *
 *   nat    PREROUTING  -m addrtype --dst-type LOCAL -j P
 *   nat    OUTPUT      ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j P
 *   nat    POSTROUTING -j P-POSTROUTING
 *   filter FORWARD     -j P-FORWARD
 *
 * `hairpin` is daemon.json `userland-proxy: false` (dockerd's hairpin mode):
 * no proxy carries loopback traffic, so OUTPUT jumps for 127.0.0.0/8 too,
 * DNAT applies to traffic from the bridge itself, and what leaves a bridge
 * from a local address (127.0.0.1 once DNAT'ed, with the bridge's
 * route_localnet on) is masqueraded.
 */
export interface RuleMode {
  hairpin?: boolean;
}

export interface BridgeRuleInput {
  bridge: string;
  subnet: string;
  icc: boolean;
  masquerade: boolean;
  internal: boolean;
}

export interface PortRuleInput {
  bridge: string;
  proto: 'tcp' | 'udp' | 'sctp';
  hostIp: string;
  hostPort: number;
  containerIp: string;
  containerPort: number;
}

export interface Chains {
  nat: string;
  natPost: string;
  filter: string;
  forward: string;
  isolation1: string;
  isolation2: string;
}

export function chainNames(prefix: string): Chains {
  return {
    nat: prefix,
    natPost: `${prefix}-POSTROUTING`,
    filter: prefix,
    forward: `${prefix}-FORWARD`,
    isolation1: `${prefix}-ISOLATION-STAGE-1`,
    isolation2: `${prefix}-ISOLATION-STAGE-2`,
  };
}

/** The jumps from the built-in chains: [table, chain, rule args]. */
export function jumpRules(prefix: string, mode: RuleMode = {}): Array<[string, string, string[]]> {
  const c = chainNames(prefix);
  return [
    ['nat', 'PREROUTING', ['-m', 'addrtype', '--dst-type', 'LOCAL', '-j', c.nat]],
    ['nat', 'OUTPUT', [...(mode.hairpin ? [] : ['!', '-d', '127.0.0.0/8']), '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', c.nat]],
    ['nat', 'POSTROUTING', ['-j', c.natPost]],
    ['filter', 'FORWARD', ['-j', c.forward]],
  ];
}

/** The jumps of both modes: what a clear removes, whichever mode the last daemon ran in. */
function anyModeJumps(prefix: string): Array<[string, string, string[]]> {
  const all = [...jumpRules(prefix), ...jumpRules(prefix, { hairpin: true })];
  return all.filter(([t, ch, r], i) => all.findIndex(([t2, ch2, r2]) => t2 === t && ch2 === ch && r2.join(' ') === r.join(' ')) === i);
}

/** iptables-restore input (for `--noflush`) that replaces the content of every Berth chain. */
export function rulesRestore(prefix: string, bridges: BridgeRuleInput[], ports: PortRuleInput[], mode: RuleMode = {}): string {
  const c = chainNames(prefix);
  const nat: string[] = [`:${c.nat} - [0:0]`, `:${c.natPost} - [0:0]`];
  const filter: string[] = [`:${c.filter} - [0:0]`, `:${c.forward} - [0:0]`, `:${c.isolation1} - [0:0]`, `:${c.isolation2} - [0:0]`];
  for (const b of bridges) {
    // Traffic from the bridge itself is never DNAT'ed back into it (dockerd's `-i docker0 -j RETURN`), unless in hairpin mode.
    if (!mode.hairpin) nat.push(`-A ${c.nat} -i ${b.bridge} -j RETURN`);
    if (b.masquerade && !b.internal) nat.push(`-A ${c.natPost} -s ${b.subnet} ! -o ${b.bridge} -j MASQUERADE`);
    if (mode.hairpin) nat.push(`-A ${c.natPost} -o ${b.bridge} -m addrtype --src-type LOCAL -j MASQUERADE`);
  }
  filter.push(`-A ${c.forward} -j ${c.isolation1}`);
  for (const b of bridges) {
    if (b.internal) {
      filter.push(`-A ${c.isolation1} ! -s ${b.subnet} -o ${b.bridge} -j DROP`);
      filter.push(`-A ${c.isolation1} ! -d ${b.subnet} -i ${b.bridge} -j DROP`);
    } else {
      filter.push(`-A ${c.isolation1} -i ${b.bridge} ! -o ${b.bridge} -j ${c.isolation2}`);
      filter.push(`-A ${c.isolation2} -o ${b.bridge} -j DROP`);
    }
    filter.push(`-A ${c.forward} -o ${b.bridge} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`);
    filter.push(`-A ${c.forward} -o ${b.bridge} -j ${c.filter}`);
    if (!b.internal) filter.push(`-A ${c.forward} -i ${b.bridge} ! -o ${b.bridge} -j ACCEPT`);
    filter.push(`-A ${c.forward} -i ${b.bridge} -o ${b.bridge} -j ${b.icc ? 'ACCEPT' : 'DROP'}`);
  }
  filter.push(`-A ${c.isolation1} -j RETURN`);
  filter.push(`-A ${c.isolation2} -j RETURN`);
  for (const p of ports) {
    const dst = p.hostIp && p.hostIp !== '0.0.0.0' ? `-d ${p.hostIp}/32 ` : '';
    const notFromBridge = mode.hairpin ? '' : `! -i ${p.bridge} `;
    nat.push(`-A ${c.nat} ${dst}${notFromBridge}-p ${p.proto} -m ${p.proto} --dport ${p.hostPort} -j DNAT --to-destination ${p.containerIp}:${p.containerPort}`);
    // Hairpin: a container reaching its own published port through the host.
    nat.push(`-A ${c.natPost} -s ${p.containerIp}/32 -d ${p.containerIp}/32 -p ${p.proto} -m ${p.proto} --dport ${p.containerPort} -j MASQUERADE`);
    filter.push(`-A ${c.filter} -d ${p.containerIp}/32 ! -i ${p.bridge} -o ${p.bridge} -p ${p.proto} -m ${p.proto} --dport ${p.containerPort} -j ACCEPT`);
  }
  return ['*nat', ...nat, 'COMMIT', '*filter', ...filter, 'COMMIT', ''].join('\n');
}

/** What `iptables-save` shows of one table: its chain names and its rules, in save syntax (`-A CHAIN …`). */
export interface TableState {
  chains: string[];
  rules: string[];
}

/** Parses `iptables-save` output into tables. */
export function parseSave(text: string): Record<string, TableState> {
  const out: Record<string, TableState> = {};
  let table: TableState | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) out[line.slice(1).trim()] = table = { chains: [], rules: [] };
    else if (!table) continue;
    else if (line.startsWith(':')) table.chains.push(line.slice(1).split(' ')[0]!);
    else if (line.startsWith('-A ')) table.rules.push(line.trim());
  }
  return out;
}

/** The jump rules of this prefix as iptables-save prints them. */
function savedJump(chain: string, rule: string[]): string {
  return `-A ${chain} ${rule.join(' ')}`;
}

/** How many of each jump are present in a save (a crash between two starts can leave one twice). */
export function presentJumps(prefix: string, saved: Record<string, TableState>, mode?: RuleMode): Array<{ table: string; chain: string; rule: string[]; count: number }> {
  return (mode ? jumpRules(prefix, mode) : anyModeJumps(prefix)).map(([table, chain, rule]) => ({
    table, chain, rule,
    count: (saved[table]?.rules ?? []).filter((r) => r === savedJump(chain, rule)).length,
  }));
}

/**
 * One iptables-restore input (for `--noflush`) that removes everything of
 * this prefix found in a save: each jump as often as it is there, then the
 * chains (declared, so flushed, then deleted). Empty when nothing is there.
 */
export function clearRestore(prefix: string, saved: Record<string, TableState>): string {
  const jumps = presentJumps(prefix, saved);
  const names = new Set(Object.values(chainNames(prefix)));
  const out: string[] = [];
  for (const table of ['nat', 'filter'] as const) {
    const mine = (saved[table]?.chains ?? []).filter((ch) => names.has(ch));
    const dels = jumps.filter((j) => j.table === table).flatMap((j) => Array<string>(j.count).fill(`-D ${j.chain} ${j.rule.join(' ')}`));
    if (mine.length === 0 && dels.length === 0) continue;
    out.push(`*${table}`, ...mine.map((ch) => `:${ch} - [0:0]`), ...dels, ...mine.map((ch) => `-X ${ch}`), 'COMMIT');
  }
  return out.length ? out.join('\n') + '\n' : '';
}

/** `rulesRestore` plus the jumps missing from a save, inserted first in their built-in chains (dockerd's -I). */
export function rulesWithJumps(prefix: string, bridges: BridgeRuleInput[], ports: PortRuleInput[], saved: Record<string, TableState>, mode: RuleMode = {}): string {
  const text = rulesRestore(prefix, bridges, ports, mode);
  const missing = presentJumps(prefix, saved, mode).filter((j) => j.count === 0);
  return text.replace(/^COMMIT$/gm, (m, offset: number) => {
    const table = text.lastIndexOf('*filter', offset) > text.lastIndexOf('*nat', offset) ? 'filter' : 'nat';
    const lines = missing.filter((j) => j.table === table).map((j) => `-I ${j.chain} ${j.rule.join(' ')}`);
    return [...lines, m].join('\n');
  });
}
