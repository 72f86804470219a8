// Which images live pods use: a pod's record names each started
// container's image ID; a container that has not started yet holds the
// image its manifest names (when it is here).
import { findLocalImage } from '../image/store.js';
import type { RuntimePaths } from '../runtime/paths.js';
import { listStoredPods } from './store.js';

export function imagesInUse(paths: RuntimePaths): Map<string, string> {
  const used = new Map<string, string>();
  for (const { record, live } of listStoredPods(paths)) {
    if (!live || !record) continue;
    for (const c of [...(record.pod.spec.initContainers ?? []), ...record.pod.spec.containers]) {
      const id = record.containers[c.name]?.image ?? findLocalImage(record.imagesDir ?? paths.images, c.image)?.id;
      if (id) used.set(id, record.name);
    }
  }
  return used;
}
