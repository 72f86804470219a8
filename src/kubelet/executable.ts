// A container whose command cannot be found fails before the pod is made,
// with the reason, rather than as an exec error half-way through a start.
import { posix } from 'node:path';
import { resolveCommand } from '../plan/command.js';
import { scopedJoin, type FsView } from '../plan/scoped-path.js';
import type { Image } from '../image/store.js';
import type { ContainerConfig } from '../runtime/api.js';
import type { Container } from '../manifest/types.js';

export class ExecutableError extends Error {
  override name = 'ExecutableError';
}

function underVolume(container: Container, path: string): boolean {
  return (container.volumeMounts ?? []).some((m) => path === m.mountPath || path.startsWith(`${m.mountPath.replace(/\/$/, '')}/`));
}

export function checkExecutable(container: Container, config: ContainerConfig, image: Pick<Image, 'ref' | 'rootfs' | 'config'>, hostname: string, fs: FsView): void {
  const command = resolveCommand(image.config, { ...config, name: container.name }, hostname);
  for (const candidate of command.candidates) {
    // A volume may bring the binary: the kernel will tell at exec.
    if (underVolume(container, posix.dirname(candidate))) return;
    if (fs.isFile(scopedJoin(image.rootfs, candidate, fs))) return;
  }
  const argv0 = command.argv[0] as string;
  const where = argv0.includes('/') ? `${argv0} does not exist` : `"${argv0}" is not in $PATH (${command.candidates.map(posix.dirname).join(':')})`;
  throw new ExecutableError(
    `container "${container.name}": cannot run ${JSON.stringify(command.argv)}: ${where} in image "${image.ref}"; fix spec.containers[].command`,
  );
}
