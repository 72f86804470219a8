// `peapod inspect -o svg|html` of a live pod, checked against /proc: every
// process of the pod is a box and nothing else is, every namespace bar's
// inode is the one /proc/PID/ns shows for each process it joins, the
// volume is the host directory the kernel has mounted, the limits are the
// cgroup's. `peapod inspect` runs as its own process, as a user runs it.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { groupsOf, xmlProblem } from '../unit/ui-fixtures.js';
import { peapod } from './cli-harness.js';
import { freshRootPerTest, isAlive, isRoot, nsInode, pidsWithMnt, pod, sh, type TestRoot, waitFor } from './helpers.js';
import { containerPid, start } from './pods.js';

const KINDS = ['pid', 'net', 'ipc', 'uts', 'mnt', 'cgroup', 'user', 'time'] as const;

async function inspect(root: TestRoot, name: string, format: string): Promise<string> {
  const run = await peapod(root, ['inspect', name, '-o', format]);
  expect(run).toMatchObject({ code: 0, stderr: '' });
  return run.stdout;
}

/** The v1 memory cgroup's limit of a process, straight from the kernel's files (null on a v2 host). */
function memoryLimit(pid: number): number | null {
  const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => /^\d+:memory:/.test(l));
  if (!line || !existsSync('/sys/fs/cgroup/memory')) return null;
  return Number(readFileSync(join('/sys/fs/cgroup/memory', line.split(':')[2] as string, 'memory.limit_in_bytes'), 'utf8'));
}

describe.skipIf(!isRoot)('peapod inspect -o svg (root, real kernel)', () => {
  let root: TestRoot;
  freshRootPerTest((r) => (root = r));

  it('draws every process of the pod and every namespace as /proc has them', async () => {
    const s = await start(
      root,
      pod(
        'drawn',
        [
          sh('a', 'sleep 300 & exec sleep 301', { volumeMounts: [{ name: 'shared', mountPath: '/data' }], resources: { limits: { memory: '64Mi', cpu: '500m' } } }),
          sh('b', 'exec sleep 302', { volumeMounts: [{ name: 'shared', mountPath: '/mnt/shared', readOnly: true }] }),
        ],
        [{ name: 'shared', emptyDir: {} }],
      ),
    );
    const pause = s.runtime.sandbox.pid;
    const a = containerPid(s, 'a');
    const b = containerPid(s, 'b');
    await waitFor('both sleeps of a', () => pidsWithMnt(nsInode(a, 'mnt')).length === 2);

    const svg = await inspect(root, 'drawn', 'svg');
    expect(xmlProblem(svg)).toBeNull();
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"[^>]* data-pod="drawn"/);

    // The boxes are the pod's processes, exactly: pause and what lives in each container's mount namespace.
    const boxes = groupsOf(svg, 'process').filter((p) => p['data-pid']);
    const drawn = boxes.map((p) => Number(p['data-pid'])).sort((x, y) => x - y);
    const kernel = [pause, ...pidsWithMnt(nsInode(a, 'mnt')), ...pidsWithMnt(nsInode(b, 'mnt'))].sort((x, y) => x - y);
    expect(drawn).toEqual(kernel);
    for (const p of boxes) expect(isAlive(Number(p['data-pid']))).toBe(true);
    expect(boxes.find((p) => Number(p['data-pid']) === pause)).toMatchObject({ 'data-role': 'pause', 'data-pod-pid': '1' });

    // Each namespace once; each process in exactly one bar of each kind, the bar of its /proc/PID/ns inode.
    const bars = groupsOf(svg, 'namespace');
    for (const kind of KINDS) {
      const ofKind = bars.filter((bar) => bar['data-kind'] === kind);
      expect(new Set(ofKind.map((bar) => bar['data-inode'])).size, kind).toBe(ofKind.length);
      for (const pid of drawn) {
        const holding = ofKind.filter((bar) => (bar['data-pids'] ?? '').split(' ').includes(String(pid)));
        expect(holding.map((bar) => Number(bar['data-inode'])), `${kind} of ${pid}`).toEqual([nsInode(pid, kind)]);
      }
      // The host's bar is this host's namespace.
      const host = ofKind.find((bar) => bar['data-scope'] === 'host');
      expect(Number(host?.['data-inode']), kind).toBe(nsInode(process.pid, kind));
      expect(svg).toContain(`${kind}:[${nsInode(pause, kind)}]`);
    }
    // pause's four, shared by the pod, not the host's.
    for (const kind of ['pid', 'net', 'ipc', 'uts'] as const) {
      const bar = bars.find((x) => x['data-kind'] === kind && Number(x['data-inode']) === nsInode(pause, kind));
      expect(bar?.['data-scope'], kind).toBe('pod');
      expect(nsInode(pause, kind)).not.toBe(nsInode(process.pid, kind));
    }
    for (const pid of [a, b]) expect(bars.find((x) => x['data-kind'] === 'mnt' && Number(x['data-inode']) === nsInode(pid, 'mnt'))?.['data-scope']).toBe('own');

    // The volume: the directory on the host that the kernel has mounted in both containers.
    const volume = s.runtime.paths.volume('shared');
    expect(groupsOf(svg, 'volume')).toEqual([{ 'data-name': 'shared', 'data-host-path': volume }]);
    expect(statSync(volume).isDirectory()).toBe(true);
    expect(statSync(`/proc/${a}/root/data`).ino).toBe(statSync(volume).ino);
    expect(statSync(`/proc/${b}/root/mnt/shared`).ino).toBe(statSync(volume).ino);
    expect(groupsOf(svg, 'mount').map((m) => [m['data-container'], m['data-mount-path'], m['data-read-only']])).toEqual([
      ['a', '/data', 'false'],
      ['b', '/mnt/shared', 'true'],
    ]);

    // The limits: what the memory cgroup of a says, as a's caption.
    const limit = memoryLimit(a);
    if (limit !== null) {
      expect(limit).toBe(64 * 2 ** 20);
      expect(svg).toMatch(/>mem 64Mi · cpu 500m( · pids max)?</);
    }
    expect(svg).toContain('pod IP: none');

    // The same pod gives the same picture; the HTML file holds it.
    expect(await inspect(root, 'drawn', 'svg')).toBe(svg);
    const html = await inspect(root, 'drawn', 'html');
    expect(html).toContain(svg);
    expect(html).toContain('SHARE a namespace when the inode is the same');

    await s.runtime.stop({ force: true });
  });

  it("puts a hostNetwork pod in the host's network bar, with the inode /proc shows for the host", async () => {
    const s = await start(root, pod('hostnet', [sh('only', 'exec sleep 303')], [], { hostNetwork: true }));
    const pause = s.runtime.sandbox.pid;
    const only = containerPid(s, 'only');
    const net = groupsOf(await inspect(root, 'hostnet', 'svg'), 'namespace').filter((b) => b['data-kind'] === 'net');
    expect(nsInode(pause, 'net')).toBe(nsInode(process.pid, 'net'));
    expect(net).toEqual([{ 'data-kind': 'net', 'data-inode': String(nsInode(process.pid, 'net')), 'data-scope': 'host', 'data-pids': `${pause} ${only}`, 'data-host': 'true' }]);
    await s.runtime.stop({ force: true });
  });

  it('refuses an unknown output format, naming the ones there are', async () => {
    const run = await peapod(root, ['inspect', 'x', '-o', 'png']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('allowed formats are: json,yaml,svg,html');
  });
});
