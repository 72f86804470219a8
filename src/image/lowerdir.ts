// The overlay mount of a container's root: every layer of its image as a
// lowerdir, top first, as overlayfs wants them. The mount data must fit in
// a page (4096 bytes with its NUL): a long chain of long paths does not,
// so then, as containerd does, the child first changes to the store's l/
// directory and names each layer by its short link there.
import type { Image } from './store.js';
import type { Step } from '../plan/types.js';

/** The kernel copies at most a page of mount data, NUL included. */
export const MOUNT_DATA_MAX = 4095;

export class LowerdirError extends Error {
  override name = 'LowerdirError';
}

export type OverlayImage = Pick<Image, 'rootfs'> &
  Partial<Pick<Image, 'layers' | 'links'>> & {
    /** A read-only layer above the image's, holding mount points it lacks (runtime/mount-point-layer.ts); absolute. */
    mountPoints?: string | undefined;
  };

export function overlayRootSteps(image: OverlayImage, dirs: { rootfs: string; upper: string; work: string }): Step[] {
  const top = image.mountPoints ? [image.mountPoints] : [];
  const layers = [...top, ...(image.layers ?? [image.rootfs])];
  const tail = `,upperdir=${dirs.upper},workdir=${dirs.work}`;
  const data = (lower: string[]): string => `lowerdir=${lower.join(':')}${tail}`;
  const mount = (d: string): Step => ({ op: 'mount', source: 'overlay', target: dirs.rootfs, fstype: 'overlay', flags: [], data: d });
  const full = data(layers);
  if (full.length <= MOUNT_DATA_MAX || !image.links) return [mount(full)];
  const short = data([...top, ...image.links.names]);
  if (short.length > MOUNT_DATA_MAX) {
    throw new LowerdirError(`the image has ${layers.length} layers: too many for one overlay mount (its options exceed ${MOUNT_DATA_MAX + 1} bytes even with short names)`);
  }
  return [{ op: 'chdir', path: image.links.dir }, mount(short)];
}
