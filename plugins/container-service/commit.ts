import {
  ConflictError, ExtensionPoint, type CommitOptions, type ContainerRecord, type GraphDriver, type ImageStore,
} from '../../kernel/index.js';
import { initLayerOf } from './init-layer.js';
import type { Lifecycle } from './lifecycle.js';
import type { ServiceContext } from './service-context.js';

/**
 * dockerd's CreateImageFromContainer: refuses dead and departing containers
 * (409), pauses a running one for the duration unless `pause` is false (so
 * the layer is read in a consistent state, and unpauses it afterwards even
 * when the commit fails), hands the read-write layer's diff (relative to the
 * init layer, so the placeholders stay out) to the image store,
 * and emits `container commit` with the comment, image ID and reference.
 */
export async function commitContainer(ctx: ServiceContext, lifecycle: Lifecycle, ref: string, opts: CommitOptions): Promise<string> {
  const c = ctx.store.resolve(ref);
  if (c.State.Dead) throw new ConflictError(`You cannot commit container ${c.Id} which is Dead`);
  if (c.State.Status === 'removing') throw new ConflictError(`You cannot commit container ${c.Id} which is being removed`);
  const images = ctx.host.current<ImageStore>(ExtensionPoint.ImageStore);
  const graph = ctx.host.current<GraphDriver>(ExtensionPoint.GraphDriver);
  // dockerd ignores a failed pause (a container that stopped meanwhile is committed as it is).
  const paused = opts.pause && c.State.Running && !c.State.Paused
    ? await lifecycle.pause(c.Id).then(() => true, () => false)
    : false;
  let result: { id: string; ref: string };
  try {
    result = await images.commit({
      parentImageId: c.Image,
      diff: () => graph.diff(c.Id, initLayerOf(c)),
      containerId: c.Id,
      author: opts.author,
      comment: opts.comment,
      config: opts.config ?? c.Config,
      changes: opts.changes,
      containerConfig: c.Config,
      dockerVersion: opts.dockerVersion,
      repo: opts.repo,
      tag: opts.tag,
    });
  } finally {
    if (paused) await lifecycle.unpause(c.Id).catch(() => undefined);
  }
  const current: ContainerRecord = ctx.store.tryResolve(c.Id) ?? c;
  ctx.emit('commit', current, { comment: opts.comment, imageID: result.id, imageRef: result.ref });
  return result.id;
}
