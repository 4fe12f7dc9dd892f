import type { Readable } from 'node:stream';
import { ConflictError, type AttachRequest, type AttachStreams, type ContainerRecord, type LogEntry } from '../../kernel/index.js';
import { DEFAULT_DETACH_KEYS, DetachKeyFilter, parseDetachKeys } from './detach-keys.js';
import type { OutputSubscriber } from './output-pump.js';
import { runtimeOf, type ServiceContext } from './service-context.js';

/**
 * `docker attach` / `docker run` / `start -a` as dockerd's containerAttach
 * and stream.AttachConfig.CopyStreams do it:
 * - output comes from the container's output pump; an attach made before
 *   the start (docker run) waits for it and sees everything from the first byte;
 * - stdin is taken only when the container has OpenStdin; it is handed to
 *   the task when it exists, else at the next start (bytes sent before the
 *   start wait in the socket);
 * - when the client's stdin ends, a non-TTY StdinOnce container gets EOF on
 *   its stdin and the attach lasts until it stops; otherwise the attach ends;
 * - on a TTY the detach keys (ctrl-p,ctrl-q) end the attach with `detach`;
 * - the attach ends when the container stops or the client goes away.
 */
export async function attachContainer(
  ctx: ServiceContext,
  ref: string,
  req: AttachRequest,
  connect: (info: { tty: boolean }) => AttachStreams,
  replay: (c: ContainerRecord) => Promise<AsyncIterable<LogEntry>>,
): Promise<void> {
  const c = ctx.store.resolve(ref);
  if (c.State.Paused) throw new ConflictError(`container ${ref} is paused, unpause the container before attach`);
  if (c.State.Restarting) throw new ConflictError(`container ${ref} is restarting, wait until the container is running`);
  const keys = parseDetachKeys(req.detachKeys || DEFAULT_DETACH_KEYS);
  const tty = c.Config.Tty === true;
  const streams = connect({ tty });
  const stdout = req.stdout ? streams.stdout : undefined;
  const stderr = req.stderr && !tty ? streams.stderr : undefined;

  if (req.logs) {
    for await (const e of await replay(c)) {
      const sink = e.stream === 'stderr' && !tty ? stderr : stdout;
      if (sink && !sink.destroyed) sink.write(e.partial ? e.line : Buffer.concat([e.line, Buffer.from('\n')]));
    }
  }
  ctx.emit('attach', c);
  if (!req.stream) return;

  const stdin = req.stdin && c.Config.OpenStdin ? streams.stdin : undefined;
  await new Promise<void>((resolve) => {
    const rt = runtimeOf(ctx, c);
    let done = false;
    let input: Readable | undefined;
    let link: { detach(): void } | undefined;
    let subscription: { remove(): void } | undefined;
    const finish = (detached: boolean) => {
      if (done) return;
      done = true;
      subscription?.remove();
      rt.pendingOutput.delete(sub);
      rt.pendingStdin.forEach((p) => p.input === input && rt.pendingStdin.delete(p));
      // The stdin bridge may still hold bytes the client sent last: give it a moment before it goes.
      // (An EOF from the client reaches the process on its own, through the pipe.)
      if (link) setTimeout(() => link?.detach(), 1500).unref();
      if (detached) {
        const cur = ctx.store.tryResolve(c.Id);
        if (cur) ctx.emit('detach', cur);
      }
      resolve();
    };
    const sub: OutputSubscriber = { stdout, stderr, end: () => finish(false) };
    streams.signal?.addEventListener('abort', () => finish(false), { once: true });

    if (stdin) {
      input = stdin;
      if (tty) {
        const filter = new DetachKeyFilter(keys);
        filter.on('detach', () => {
          stdin.unpipe(filter);
          finish(true);
        });
        input = stdin.pipe(filter);
      }
      stdin.once('end', () => {
        // dockerd: CloseStdin && !TTY closes the container's stdin and waits for it to stop; else the attach ends.
        if (tty || !c.Config.StdinOnce) finish(false);
      });
    }

    if (rt.live) {
      subscription = rt.live.pump.subscribe(sub);
      if (input) {
        void rt.live.task.attach({ terminal: tty, stdin: input }).then(
          (l) => (done ? setTimeout(() => l.detach(), 1500).unref() : (link = l)),
          () => finish(false),
        );
      }
    } else {
      rt.pendingOutput.add(sub);
      if (input) rt.pendingStdin.add({ input, linked: (l) => (done ? setTimeout(() => l.detach(), 1500).unref() : (link = l)) });
    }
  });
}
