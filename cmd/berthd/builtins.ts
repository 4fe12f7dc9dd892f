import type { AnyManifest } from '../../kernel/index.js';
import apiServer from '../../api-compat/manifest.js';
import { versionAdapters } from '../../api-compat/versions/index.js';
import eventLog from '../../plugins/event-log/manifest.js';
import hostInfo from '../../plugins/host-info/manifest.js';
import imageStore from '../../plugins/image-store/manifest.js';
import graphOverlay from '../../plugins/graph-overlay/manifest.js';
import graphVfs from '../../plugins/graph-vfs/manifest.js';
import graphBtrfs from '../../plugins/graph-btrfs/manifest.js';
import graphDevmapper from '../../plugins/graph-devmapper/manifest.js';
import volumeLocal from '../../plugins/volume-local/manifest.js';
import logJsonFile from '../../plugins/log-json-file/manifest.js';
import execLibcontainer from '../../plugins/exec-libcontainer/manifest.js';
import execLxc from '../../plugins/exec-lxc/manifest.js';
import containerService from '../../plugins/container-service/manifest.js';
import registryClient from '../../plugins/registry-client/manifest.js';
import netBridge from '../../plugins/net-bridge/manifest.js';
import networkService from '../../plugins/network-service/manifest.js';

/**
 * The plugins built into berthd, as an explicit list (no registration by
 * import side effect). The kernel orders them by their `requires`.
 */
export const builtins: AnyManifest[] = [
  hostInfo,
  eventLog,
  graphOverlay,
  graphVfs,
  graphBtrfs,
  graphDevmapper,
  volumeLocal,
  logJsonFile,
  imageStore,
  execLibcontainer,
  execLxc,
  netBridge,
  networkService,
  containerService,
  registryClient,
  ...versionAdapters,
  apiServer,
];
