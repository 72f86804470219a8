// The sandbox image (containerd's sandbox_image, the kubelet's
// --pod-infra-container-image): peapod's own static pause by default, or
// the entrypoint of an image, run as pause is run: by fd, from an empty
// read-only root, as uid 65535 with no capabilities. So that binary must be
// static (Kubernetes' pause images are).
import { existsSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { pullImage } from '../image/pull.js';
import { findLocalImage, type Image } from '../image/store.js';
import { scopedJoin } from '../plan/scoped-path.js';

export class SandboxImageError extends Error {
  override name = 'SandboxImageError';
}

/** The host file of `path` in the image: the top-most layer that has it. */
function fileInLayers(image: Image, path: string): string | undefined {
  const resolved = scopedJoin(image.rootfs, path, image.fs);
  const rel = posix.relative(image.rootfs, resolved);
  for (const layer of image.layers) {
    const candidate = join(layer, rel);
    if (existsSync(candidate)) return statSync(candidate).isFile() ? candidate : undefined;
  }
  return undefined;
}

/** The binary a sandbox of `ref` runs, pulled first when the image is not here. */
export async function sandboxBinary(storeDir: string, ref: string): Promise<string> {
  let image = findLocalImage(storeDir, ref, ['docker.io']);
  if (!image) {
    await pullImage(storeDir, ref);
    image = findLocalImage(storeDir, ref, ['docker.io']);
  }
  if (!image) throw new SandboxImageError(`sandbox image "${ref}": not found after pulling it`);
  const argv0 = image.config.entrypoint[0] ?? image.config.cmd[0];
  if (!argv0 || !argv0.startsWith('/')) throw new SandboxImageError(`sandbox image "${ref}": its entrypoint must be an absolute path (like /pause), got ${JSON.stringify(argv0 ?? '')}`);
  const file = fileInLayers(image, argv0);
  if (!file) throw new SandboxImageError(`sandbox image "${ref}": ${argv0} is not a file in the image`);
  return file;
}
