// What a host user who is not root can reach of a running pod: nothing.
// The pod's root is made by peapod inside a 0755 directory, so only
// peapod's own modes protect it, and the user is a real one (setpriv to
// nobody), with the host's umask at 022 and at 0. Inside, the container
// still has what it needs as a non-root uid: emptyDir, /dev/shm, its
// termination log, a "/" with the image's mode.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveImage } from '../../src/image/store.js';
import { daemonPaths } from '../../src/node/daemon-paths.js';
import { podPaths, runtimePaths, type PodPaths, type RuntimePaths } from '../../src/runtime/paths.js';
import type { PodRecord } from '../../src/node/state.js';
import { execIn, expectNothingLeft, isAlive, isRoot, mountsUnder, pod, sh, waitFor, type TestRoot } from './helpers.js';
import { containerPid, start } from './pods.js';

const NOBODY = 65534;
const SECRET = 'secret-7f3a';

/** A real unprivileged host user runs argv: its exit code and what it said. */
function asNobody(argv: string[], env: NodeJS.ProcessEnv = process.env): { code: number; stderr: string } {
  const r = spawnSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--', ...argv], { encoding: 'utf8', env });
  return { code: r.status ?? -1, stderr: r.stderr };
}

function expectDenied(argv: string[]): void {
  const r = asNobody(argv);
  expect(r.code, `${argv.join(' ')} as nobody`).not.toBe(0);
  expect(r.stderr, `${argv.join(' ')} as nobody`).toMatch(/Permission denied|EACCES/);
}

/** A parent directory every host user may traverse: only peapod's own modes stand between them and the pods. */
function openParent(): string {
  const parent = mkdtempSync(join(tmpdir(), 'peapod-perm-'));
  chmodSync(parent, 0o755);
  return parent;
}

const mode = (path: string): number => lstatSync(path).mode & 0o7777;

/**
 * Every entry peapod made for the pod is closed to others (no bit for
 * "other", no write for the group), except what a container must use as
 * any uid, which keeps its inner mode. Returns the entries checked.
 */
function auditPod(pp: PodPaths, container: string, volume: string): number {
  const c = pp.container(container);
  const inner = new Map<string, number>([
    [pp.volume(volume), 0o777],
    [c.terminationLog, 0o666],
    [pp.shm, 0o1777],
    [pp.etc.hosts, 0o644],
    [pp.etc.hostname, 0o644],
    [pp.etc.resolvConf, 0o644],
  ]);
  let checked = 0;
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const m = mode(path);
      checked++;
      if (path === c.upper) {
        // The container's "/": the image root's mode.
        expect(m, path).toBe(statSync(resolveImage(process.env.PEAPOD_IMAGES as string, 'busybox').rootfs).mode & 0o7777);
        continue;
      }
      const wanted = inner.get(path);
      if (wanted !== undefined) expect(m, path).toBe(wanted);
      else expect(m & 0o027, `${path} has mode ${m.toString(8)}`).toBe(0);
      if (wanted === undefined && lstatSync(path).isDirectory()) walk(path);
    }
  };
  for (const dir of new Set([pp.state, pp.data])) {
    expect(mode(dir) & 0o027, dir).toBe(0);
    walk(dir);
  }
  return checked;
}

/** The host user's attempts: read a log, the writable layer, the termination log; forge it; plant a file in emptyDir; list the pod. */
function expectHostUserLockedOut(pp: PodPaths, container: string, volume: string): void {
  const c = pp.container(container);
  const targets = {
    log: pp.log(container, 0),
    // A file the container wrote in its /tmp: on the host, in its writable layer.
    upper: join(c.upper, 'tmp', 'upper-secret'),
    terminationLog: c.terminationLog,
    record: pp.recordFile,
  };
  // As root every one of them is there, with what the container wrote.
  expect(readFileSync(targets.log, 'utf8')).toContain(SECRET);
  expect(readFileSync(targets.upper, 'utf8')).toContain(SECRET);
  expect(readFileSync(targets.terminationLog, 'utf8')).toContain(SECRET);
  expectDenied(['cat', targets.log]);
  expectDenied(['cat', targets.upper]);
  expectDenied(['cat', targets.terminationLog]);
  expectDenied(['cat', targets.record]);
  expectDenied(['sh', '-c', `echo forged > ${targets.terminationLog}`]);
  expectDenied(['touch', join(pp.volume(volume), 'planted.sh')]);
  expectDenied(['ls', pp.data]);
  expectDenied(['ls', pp.state]);
  expect(readFileSync(targets.terminationLog, 'utf8')).not.toContain('forged');
  expect(existsSync(join(pp.volume(volume), 'planted.sh'))).toBe(false);
}

// What the container writes: a secret in its log, its writable layer and
// its termination log; a file in emptyDir and in /dev/shm (as any uid).
const WORKLOAD = [
  `echo ${SECRET}`,
  `echo ${SECRET} > /tmp/upper-secret`,
  `echo ${SECRET} > /dev/termination-log`,
  'echo ok > /scratch/mine',
  'echo ok > /dev/shm/mine',
  'echo ready',
  'sleep 1000',
].join('; ');

describe.skipIf(!isRoot)('host users and the on-disk layout', () => {
  let parent: string;
  let root: TestRoot;
  const savedUmask = process.umask();

  // The default layout's shape: state and data roots apart (as /run/peapod and /var/lib/peapod).
  const paths = (): RuntimePaths => ({ state: join(parent, 'run'), data: join(parent, 'lib'), images: process.env.PEAPOD_IMAGES as string });

  beforeEach(() => {
    parent = openParent();
    root = { dir: parent, paths: paths(), pids: new Set(), runtimes: [], stops: [], cleanup: () => rmSync(parent, { recursive: true, force: true }) };
  });
  afterEach(async () => {
    process.umask(savedUmask);
    try {
      await expectNothingLeft(root);
      for (const dir of [root.paths.state, root.paths.data]) expect(readdirSync(join(dir, 'pods'))).toEqual([]);
    } finally {
      root.cleanup();
    }
  });

  it.each([
    ['022', 0o022],
    ['0', 0],
  ])('with the host umask at %s, a host user reads, forges and plants nothing; the container still works as uid 1000', async (_label, umask) => {
    process.umask(umask);
    const s = await start(
      root,
      pod('perm', [sh('c', WORKLOAD, { volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }], securityContext: { runAsUser: 1000, runAsGroup: 1000 } })], [{ name: 'scratch', emptyDir: {} }]),
    );
    const pp = podPaths(root.paths, 'perm');
    await waitFor('the container to be ready', () => existsSync(pp.log('c', 0)) && readFileSync(pp.log('c', 0), 'utf8').includes('ready'), 10_000);
    expectHostUserLockedOut(pp, 'c', 'scratch');

    // The roots peapod made, and their pods/ directories: root's alone.
    for (const dir of [root.paths.state, root.paths.data]) {
      expect(mode(dir), dir).toBe(0o700);
      expect(mode(join(dir, 'pods')), dir).toBe(0o700);
    }
    expect(auditPod(pp, 'c', 'scratch')).toBeGreaterThan(15);

    // Inside, uid 1000 used the emptyDir and /dev/shm, and sees "/" as the image has it.
    const pid = containerPid(s, 'c');
    expect((await execIn(pid, ['cat', '/scratch/mine', '/dev/shm/mine'])).stdout).toBe('ok\nok\n');
    expect((await execIn(pid, ['stat', '-c', '%a %u', '/'])).stdout.trim()).toBe('755 0');
    expect((await execIn(pid, ['stat', '-c', '%a', '/scratch', '/dev/shm'])).stdout.split('\n').slice(0, 2)).toEqual(['777', '1777']);

    // The control socket: only root may connect.
    const sock = s.runtime.record.control as string;
    expect(mode(sock)).toBe(0o600);
    const connect = asNobody([process.execPath, '-e', `require('net').connect(${JSON.stringify(sock)}).on('error', (e) => { console.error(e.code); process.exit(1); })`]);
    expect(connect.code).not.toBe(0);
    expect(connect.stderr).toContain('EACCES');
    await s.runtime.stop({ force: true });
  });
});

describe.skipIf(!isRoot)('the default layout shape: state and data roots apart', () => {
  let parent: string;
  beforeEach(() => {
    parent = openParent();
  });
  afterEach(() => rmSync(parent, { recursive: true, force: true }));

  it('run -d under umask 0: both roots made 0700, the pod closed to host users; delete leaves nothing', async () => {
    const state = join(parent, 'run', 'peapod');
    const data = join(parent, 'lib', 'peapod');
    const env = { ...process.env, PEAPOD_STATE_ROOT: state, PEAPOD_DATA_ROOT: data };
    const file = join(parent, 'pod.yaml');
    writeFileSync(
      file,
      `apiVersion: v1
kind: Pod
metadata: {name: apart}
spec:
  volumes: [{name: scratch, emptyDir: {}}]
  containers:
  - name: c
    image: busybox
    command: [sh, -c, '${WORKLOAD}']
    volumeMounts: [{name: scratch, mountPath: /scratch}]
`,
    );
    const bin = join(process.cwd(), 'bin', 'peapod.js');
    const peapod = (args: string[], umask = '022'): Promise<{ code: number | null; out: string }> =>
      new Promise((resolve) => {
        const child = spawn('sh', ['-c', `umask ${umask}; exec "$@"`, 'sh', process.execPath, bin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        child.on('exit', (code) => resolve({ code, out }));
      });

    const run = await peapod(['run', '-d', '-f', file], '0');
    expect(run.out).toBe('pod/apart\n');
    expect(run.code).toBe(0);
    const paths = runtimePaths({}, env);
    expect(paths).toMatchObject({ state, data, images: process.env.PEAPOD_IMAGES });
    const pp = podPaths(paths, 'apart');
    const record = JSON.parse(readFileSync(pp.recordFile, 'utf8')) as PodRecord;
    const pids = [record.supervisor.pid, record.sandbox?.pid ?? 0, ...Object.values(record.containers).map((c) => c.pid)];
    try {
      await waitFor('the container to be ready', () => existsSync(pp.log('c', 0)) && readFileSync(pp.log('c', 0), 'utf8').includes('ready'), 10_000);
      expect(pp.state.startsWith(state) && pp.data.startsWith(data)).toBe(true);
      for (const dir of [state, data, join(state, 'pods'), join(data, 'pods')]) expect(mode(dir), dir).toBe(0o700);
      expect(auditPod(pp, 'c', 'scratch')).toBeGreaterThan(15);
      // The node daemon run -d started: its directory, log, record of itself, reaper logs and socket are root's alone.
      const dp = daemonPaths(paths);
      expect(mode(dp.dir)).toBe(0o700);
      expect(mode(dp.reapers)).toBe(0o700);
      expect(mode(dp.log)).toBe(0o640);
      expect(mode(dp.info)).toBe(0o600);
      for (const log of readdirSync(dp.reapers)) expect(mode(join(dp.reapers, log)), log).toBe(0o600);
      expect(mode(dp.socket)).toBe(0o600);
      expect(mode(pp.log('c', 0))).toBe(0o640);
      expectHostUserLockedOut(pp, 'c', 'scratch');
      expect((await peapod(['get', 'pods', '-o', 'name'])).out).toBe('pod/apart\n');
      // Another user is told why, not that there are no pods.
      const look = asNobody([process.execPath, bin, 'get', 'pods'], env);
      expect(look).toEqual({ code: 1, stderr: `peapod: cannot read ${join(state, 'pods')}: permission denied; the pods' state is root's alone: run peapod as root\n` });
    } finally {
      const del = await peapod(['delete', 'pod', 'apart', '--force']);
      expect(del.out).toContain('deleted');
      // The daemon (the record's supervisor) goes too; its reaper with it.
      expect((await peapod(['daemon', '--stop'])).code).toBe(0);
    }
    await waitFor('every process of the pod to be gone', () => pids.every((p) => !isAlive(p)), 5000);
    expect(mountsUnder(parent)).toEqual([]);
    expect(readdirSync(join(state, 'pods'))).toEqual([]);
    expect(readdirSync(join(data, 'pods'))).toEqual([]);
  }, 30_000);
});
