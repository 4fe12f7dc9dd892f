import { existsSync } from 'node:fs';
import { runCommand } from '../../lib/run-command.js';

/**
 * The links of a bridge network, programmed with iproute2: the bridge
 * itself (gateway address, MTU, up) and one veth pair per endpoint. The
 * container side is created inside the sandbox (`nsenter --net=<key> ip`)
 * and its peer is sent to berthd's own namespace, so no name of ours ever
 * appears in a container and one `ip -batch` does the whole container side.
 */
export async function ensureBridge(name: string, gatewayCidr: string, mtu: number): Promise<void> {
  if (!existsSync(`/sys/class/net/${name}`)) {
    await runCommand('ip', ['link', 'add', 'name', name, 'mtu', String(mtu), 'type', 'bridge']).catch((err: unknown) => {
      if (!existsSync(`/sys/class/net/${name}`)) throw err;
    });
  }
  await runCommand('ip', ['-batch', '-'], `addr replace ${gatewayCidr} dev ${name}\nlink set ${name} up\n`);
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
}

export async function plugVeth(p: VethPlan): Promise<void> {
  const inside = [
    `link add ${p.ifName} mtu ${p.mtu} address ${p.macAddress} type veth peer name ${p.hostIfName} mtu ${p.mtu} netns ${process.pid}`,
    `addr add ${p.addressCidr} dev ${p.ifName}`,
    'link set lo up',
    `link set ${p.ifName} up`,
    ...(p.gateway ? [`route replace default via ${p.gateway} dev ${p.ifName}`] : []),
  ];
  await runCommand('nsenter', [`--net=${p.sandboxKey}`, 'ip', '-batch', '-'], inside.join('\n') + '\n');
  try {
    await runCommand('ip', ['link', 'set', p.hostIfName, 'master', p.bridge, 'up']);
  } catch (err) {
    await unplugVeth(p.hostIfName);
    throw err;
  }
}

/** Deleting one end of a veth deletes both. Gone already when the sandbox was destroyed first. */
export async function unplugVeth(hostIfName: string): Promise<void> {
  if (existsSync(`/sys/class/net/${hostIfName}`)) await runCommand('ip', ['link', 'del', hostIfName]).catch(() => undefined);
}
