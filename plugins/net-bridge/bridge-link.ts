import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { runCommand } from '../../lib/run-command.js';

/**
 * The links of a bridge network, programmed with iproute2: the bridge
 * itself (gateway address, MTU, up) and one veth pair per endpoint. The
 * container side is created inside the sandbox (`nsenter --net=<key> ip`)
 * and its peer is sent to berthd's own namespace, so no name of ours ever
 * appears in a container and one `ip -batch` does the whole container side.
 * For a sandbox's first interface the same `ip -batch` runs under
 * `unshare --net=<key>`, which creates and bind-mounts the namespace first:
 * a bridged start costs two processes (that one and the host side's
 * `ip link set … master`).
 */
export async function ensureBridge(name: string, gatewayCidr: string, mtu: number, opts: { routeLocalnet?: boolean } = {}): Promise<void> {
  if (!existsSync(`/sys/class/net/${name}`)) {
    await runCommand('ip', ['link', 'add', 'name', name, 'mtu', String(mtu), 'type', 'bridge']).catch((err: unknown) => {
      if (!existsSync(`/sys/class/net/${name}`)) throw err;
    });
  }
  await runCommand('ip', ['-batch', '-'], `addr replace ${gatewayCidr} dev ${name}\nlink set ${name} up\n`);
  // Hairpin mode (no userland proxy): 127.0.0.1 DNAT'ed to a container may be routed out of this bridge (only).
  if (opts.routeLocalnet) await writeFile(`/proc/sys/net/ipv4/conf/${name}/route_localnet`, '1');
}

export async function deleteBridge(name: string): Promise<void> {
  if (existsSync(`/sys/class/net/${name}`)) await runCommand('ip', ['link', 'del', name]).catch(() => undefined);
}

export interface VethPlan {
  sandboxKey: string;
  ifName: string;
  hostIfName: string;
  macAddress: string;
  addressCidr: string;
  gateway?: string;
  mtu: number;
  bridge: string;
  /** The sandbox namespace does not exist yet: create it on `sandboxKey` (an empty file). */
  createSandbox?: boolean;
  /**
   * Hairpin mode on the bridge port (dockerd does it without the userland
   * proxy): with br_netfilter, a container's packet to its own published
   * port is DNAT'ed on the bridge and must be sent back out the port it came in.
   */
  hairpin?: boolean;
}

export async function plugVeth(p: VethPlan): Promise<void> {
  const inside = [
    `link add ${p.ifName} mtu ${p.mtu} address ${p.macAddress} type veth peer name ${p.hostIfName} mtu ${p.mtu} netns ${process.pid}`,
    `addr add ${p.addressCidr} dev ${p.ifName}`,
    'link set lo up',
    `link set ${p.ifName} up`,
    ...(p.gateway ? [`route replace default via ${p.gateway} dev ${p.ifName}`] : []),
  ];
  const enter = p.createSandbox ? ['unshare', `--net=${p.sandboxKey}`] : ['nsenter', `--net=${p.sandboxKey}`];
  await runCommand(enter[0]!, [...enter.slice(1), 'ip', '-batch', '-'], inside.join('\n') + '\n');
  try {
    await runCommand('ip', ['link', 'set', p.hostIfName, 'master', p.bridge, 'up']);
    if (p.hairpin) await writeFile(`/sys/class/net/${p.hostIfName}/brport/hairpin_mode`, '1');
  } catch (err) {
    await unplugVeth(p.hostIfName);
    throw err;
  }
}

/** Deleting one end of a veth deletes both. Gone already when the sandbox was destroyed first. */
export async function unplugVeth(hostIfName: string): Promise<void> {
  if (existsSync(`/sys/class/net/${hostIfName}`)) await runCommand('ip', ['link', 'del', hostIfName]).catch(() => undefined);
}
