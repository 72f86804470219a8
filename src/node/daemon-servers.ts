// The servers `peapod daemon` starts on its shared runtime once it holds its
// pods, beside its own socket: the place for the CRI server (issue 15) to
// be added, one entry, e.g.
//   (ctx) => startCriServer({ runtime: ctx.runtime, paths: ctx.paths, socket: join(ctx.paths.state, 'cri.sock') })
// Each is closed when the daemon stops (never its pods).
import type { RuntimePaths } from '../runtime/paths.js';
import type { DaemonServer } from './daemon.js';

export function daemonServers(_paths: RuntimePaths): DaemonServer[] {
  return [];
}
