// The root's pods as a command sees them: asked of the node daemon when it
// runs, or when one of its pods is there and no daemon holds it (then it is
// started first, and takes them over: what a command shows is never a
// status frozen at a daemon's death); from their files otherwise (pods of
// `run -f`, under a root no daemon ever served).
import type { RuntimePaths } from '../runtime/paths.js';
import { podPaths } from '../runtime/paths.js';
import { ask, reachDaemon } from './daemon-client.js';
import { isDaemonPod, readRecordFile } from './state.js';
import { getStoredPod, listStoredPods, podNames, PodNotFoundError, type StoredPod } from './store.js';

/** A pod of the daemon is there (the named one, or any). */
function daemonPodThere(paths: RuntimePaths, name: string | undefined): boolean {
  const names = name === undefined ? podNames(paths) : [name];
  return names.some((n) => {
    const read = readRecordFile(podPaths(paths, n).recordFile);
    return 'value' in read && isDaemonPod(read.value);
  });
}

/** Every pod of the root (`name`: that one, or PodNotFoundError). */
export async function viewPods(paths: RuntimePaths, name?: string): Promise<StoredPod[]> {
  const socket = await reachDaemon(paths, daemonPodThere(paths, name));
  if (!socket) return name === undefined ? listStoredPods(paths) : [getStoredPod(paths, name)];
  const reply = await ask(socket, { op: 'pods', ...(name !== undefined ? { name } : {}) });
  if ('error' in reply) {
    if (reply.notFound && name !== undefined) throw new PodNotFoundError(name);
    throw new Error(reply.error);
  }
  if (!('pods' in reply)) throw new Error('the peapod daemon answered a list of pods with something else');
  return reply.pods.map((r) => ({
    name: r.name,
    paths: podPaths(paths, r.name),
    pod: r.pod,
    record: r.record,
    ...(r.recordError !== undefined ? { recordError: r.recordError } : {}),
    live: r.live,
    ...(r.supervisorPid !== undefined ? { supervisorPid: r.supervisorPid } : {}),
    events: r.events,
  }));
}

export async function viewPod(paths: RuntimePaths, name: string): Promise<StoredPod> {
  const [pod] = await viewPods(paths, name);
  if (!pod) throw new PodNotFoundError(name);
  return pod;
}
