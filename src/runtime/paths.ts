// Where a pod's things live. One root per peapod instance, so that tests
// (and people) can run several side by side: --root or PEAPOD_ROOT.
import { join } from 'node:path';

export interface RuntimePaths {
  /** Pod state: status, supervisor pid. */
  state: string;
  /** Pod data: overlay layers, volumes, logs. */
  data: string;
  /** The image store. */
  images: string;
}

export interface PodPaths {
  state: string;
  /** The supervisor's record: pids and start times (runtime.json). */
  recordFile: string;
  /** The pod as a v1 Pod object with its live status (pod.json). */
  podFile: string;
  /** What happened to the pod, as kubelet events (events.json). */
  eventsFile: string;
  data: string;
  shm: string;
  etc: { hosts: string; hostname: string; resolvConf: string };
  volume(name: string): string;
  container(name: string): { dir: string; rootfs: string; upper: string; work: string; terminationLog: string };
  log(container: string, restart: number): string;
}

export function runtimePaths(opts: { root?: string | undefined } = {}): RuntimePaths {
  const root = opts.root ?? process.env.PEAPOD_ROOT;
  const images = process.env.PEAPOD_IMAGES;
  if (root) return { state: root, data: root, images: images ?? join(root, 'images') };
  return { state: '/run/peapod', data: '/var/lib/peapod', images: images ?? '/var/lib/peapod/images' };
}

export function podPaths(paths: RuntimePaths, name: string): PodPaths {
  const state = join(paths.state, 'pods', name);
  const data = join(paths.data, 'pods', name);
  return {
    state,
    recordFile: join(state, 'runtime.json'),
    podFile: join(state, 'pod.json'),
    eventsFile: join(state, 'events.json'),
    data,
    shm: join(data, 'shm'),
    etc: { hosts: join(data, 'etc', 'hosts'), hostname: join(data, 'etc', 'hostname'), resolvConf: join(data, 'etc', 'resolv.conf') },
    volume: (v) => join(data, 'volumes', v),
    container: (c) => {
      const dir = join(data, 'containers', c);
      return { dir, rootfs: join(dir, 'rootfs'), upper: join(dir, 'upper'), work: join(dir, 'work'), terminationLog: join(dir, 'termination-log') };
    },
    log: (c, restart) => join(data, 'logs', c, `${restart}.log`),
  };
}
