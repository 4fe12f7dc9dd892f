/** Facts about the host that `/info` and `/version` report. Probed once, cheap to read. */
export interface HostInfo {
  facts(): HostFacts;
}

export interface HostFacts {
  hostname: string;
  kernelVersion: string;
  operatingSystem: string;
  osVersion: string;
  osType: 'linux';
  architecture: string;
  ncpu: number;
  memTotal: number;
  cgroupVersion: '1' | '2';
  cgroupDriver: 'cgroupfs' | 'systemd';
  /** e.g. ["name=seccomp,profile=builtin", "name=cgroupns"]. */
  securityOptions: string[];
  /** Kernel feature warnings shown by `docker info` ("WARNING: No swap limit support"). */
  warnings: string[];
}
