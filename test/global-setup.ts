// Runs once before the suite. Integration tests share one image store so the
// busybox image is built once per run, not once per test; and no test
// touches the host's pod network unless it sets up one of its own.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export default function setup(): void {
  const cache = join(process.cwd(), '.cache', 'images');
  mkdirSync(cache, { recursive: true });
  process.env.PEAPOD_IMAGES = cache;
  // Pods get loopback only unless a test gives its own network (never the
  // host's /etc/cni/net.d, nor peapod's default bridge on the host).
  process.env.PEAPOD_NETWORK ??= 'none';
  // Pods' cgroups go under a parent of this run's own, which the runtime removes with its last pod:
  // every test proves it gone (helpers.ts expectNothingLeft), whatever real pods the host holds.
  process.env.PEAPOD_CGROUP_PARENT ??= `peapod-test-${process.pid}`;
}
