// `peapod explain`: the pod's spawn plans as numbered steps, built without
// root and without running anything. The command is run as an unprivileged
// user (nobody) even when the tests run as root.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { PodExplanation } from '../../src/node/explain.js';
import { formatStep } from '../../src/plan/describe.js';
import { detectDriver } from '../../src/runtime/cgroups/detect.js';
import { cgroupParentFromEnv } from '../../src/kubelet/resources.js';

const execFileP = promisify(execFile);
const bin = join(process.cwd(), 'bin', 'peapod.js');
const example = join(process.cwd(), 'examples', 'two-containers.yaml');
const NOBODY = 65534;
/** Whether this host has cgroups mounted (explain shows the joins only then, as run makes them only then). */
const cgroupsHere = detectDriver() !== null;

/** argv run as nobody: through setpriv when we are root, as is otherwise. */
function unprivileged(argv: string[]): string[] {
  return process.getuid?.() === 0 ? ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', ...argv] : argv;
}

async function run(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const [file, ...args] = unprivileged(argv);
  try {
    const { stdout, stderr } = await execFileP(file as string, args, { env: { ...process.env, ...env }, maxBuffer: 16 << 20 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** A state root and an image store that do not exist: explain must not create them. */
function nowhere(): { root: string; images: string } {
  const id = randomBytes(6).toString('hex');
  return { root: join(tmpdir(), `peapod-explain-root-${id}`), images: join(tmpdir(), `peapod-explain-images-${id}`) };
}

describe('peapod explain', () => {
  it('runs as an unprivileged user', async () => {
    const id = await run([process.execPath, '-e', 'process.stdout.write(String(process.getuid()))']);
    expect(Number(id.stdout)).not.toBe(0);
  });

  it('prints the two-container example as numbered steps: namespaces, the overlay, pivot_root, exec', async () => {
    const where = nowhere();
    const r = await run([process.execPath, bin, 'explain', '-f', example, '--root', where.root], { PEAPOD_IMAGES: where.images });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = r.stdout;
    // Nothing was made on the host.
    expect(existsSync(where.root)).toBe(false);
    expect(existsSync(where.images)).toBe(false);

    expect(out).toContain('pod/two-containers: 3 processes');
    expect(out).toContain('== pause: the sandbox ==');
    expect(out).toContain('== container nginx-container (image busybox, not in the store yet) ==');
    expect(out).toContain('== container debian-container (image busybox, not in the store yet) ==');
    expect(out).toMatch(/clone\(CLONE_NEWNS\|CLONE_NEWPID\|CLONE_NEWNET\|CLONE_NEWIPC\|CLONE_NEWUTS\)/);
    expect(out).toMatch(/^\s+\d+\. sethostname "two-containers"$/m);
    // Containers join pause's namespaces, named by the placeholder for its pid.
    expect(out).toMatch(/^\s+\d+\. fd (\d+) = open\(\/proc\/<pause pid>\/ns\/pid, O_RDONLY\|O_CLOEXEC\)$/m);
    expect(out).toMatch(/^\s+\d+\. setns\(fd \d+, CLONE_NEWPID\), then clone\(CLONE_PARENT\): the steps below run in a process born in that PID namespace only now/m);
    expect(out).toMatch(/^\s+\d+\. setns\(\/proc\/<pause pid>\/ns\/net, CLONE_NEWNET\): join pause's network namespace$/m);
    // Before anything else, each process joins its cgroup (the very files the runtime makes), where the host has cgroups.
    // Under the cgroup parent the runtime reads (the test run's own: test/global-setup.ts).
    const parent = cgroupParentFromEnv().replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
    const joinLine = new RegExp(`^\\s+1\\. join the cgroup ${parent}\\/pod<pod uid>\\/pause: write "0" to \\/sys\\/fs\\/cgroup\\/.+\\/pause\\/cgroup\\.procs$`, 'm');
    if (cgroupsHere) expect(out).toMatch(joinLine);
    // The overlay root over the image (a placeholder: the store is empty), under the state root given.
    const rootfs = join(where.root, 'pods', 'two-containers', 'containers', 'nginx-container', 'rootfs');
    expect(out).toContain(`$ROOTFS = ${rootfs}`);
    expect(out).toMatch(/^\s+\d+\. mount -t overlay overlay \$ROOTFS -o lowerdir=<image busybox>\/rootfs,upperdir=\$POD\/containers\/nginx-container\/upper,workdir=\$POD\/containers\/nginx-container\/work$/m);
    expect(out).toMatch(/^\s+\d+\. fd \d+ = open_tree\(\$POD\/volumes\/shared-data, OPEN_TREE_CLONE\|AT_RECURSIVE\)/m);
    expect(out).toMatch(/^\s+\d+\. fd \d+ = \/usr\/share\/nginx\/html in the new root, made if missing \(openat2 RESOLVE_IN_ROOT/m);
    expect(out).toMatch(/^\s+\d+\. move_mount\(fd \d+ onto fd \d+\): volume "shared-data" \(\$POD\/volumes\/shared-data\) on \/usr\/share\/nginx\/html$/m);
    expect(out).toMatch(/^\s+\d+\. move_mount\(fd \d+ onto fd \d+\): the pod's \/dev\/shm \(\$POD\/shm\) on \/dev\/shm$/m);
    expect(out).toMatch(/^\s+\d+\. pivot_root \$ROOTFS: it becomes \//m);
    // The exec line, with argv and env.
    expect(out).toMatch(/^\s+\d+\. execveat\(fd \d+, "", AT_EMPTY_PATH\): the read-only pause, which execs the first that exists of: \/usr\/local\/sbin\/httpd .* \/bin\/httpd \(/m);
    expect(out).toContain('argv: ["httpd","-f","-vv","-p","80","-h","/usr/share/nginx/html"]');
    expect(out).toMatch(/^\s+\d+\. execveat\(fd \d+, "", AT_EMPTY_PATH\): the read-only pause, which execs \/bin\/sh \(/m);
    expect(out).toMatch(/env: {2}PATH=\S+ HOSTNAME=two-containers$/m);
    expect(out).toMatch(/^\s+\d+\. fd (\d+) = \S+\/pause through a private read-only, nosuid copy of its mount/m);
    expect(out).toMatch(/^\s+\d+\. execveat\(fd \d+, "", AT_EMPTY_PATH\): the program opened above$/m);

    // Numbered 1..N in every section, with no gap.
    for (const section of out.split('\n== ').slice(1)) {
      const numbers = [...section.matchAll(/^\s+(\d+)\. /gm)].map((m) => Number(m[1]));
      expect(numbers.length).toBeGreaterThan(5);
      expect(numbers).toEqual(numbers.map((_, i) => i + 1));
    }
  });

  it('prints the plans as data with -o json, the same steps the text numbers', async () => {
    const where = nowhere();
    const r = await run([process.execPath, bin, 'explain', '-f', example, '-o', 'json', '--root', where.root], { PEAPOD_IMAGES: where.images });
    expect(r.code).toBe(0);
    const e = JSON.parse(r.stdout) as PodExplanation;
    expect(e.kind).toBe('PodPlan');
    expect(e.processes.map((p) => [p.role, p.name])).toEqual([
      ['sandbox', 'pause'],
      ['container', 'nginx-container'],
      ['container', 'debian-container'],
    ]);
    expect(e.placeholders).toHaveProperty('<pause pid>');
    const nginx = e.processes[1]!.plan!;
    expect(nginx.newNamespaces).toEqual(['mnt']);
    expect(nginx.steps).toContainEqual({ op: 'open', path: '/proc/<pause pid>/ns/pid', fd: 100, read: true });
    expect(nginx.steps).toContainEqual({ op: 'enter_pid_ns', fd: 100 });
    // Its cgroup first (one cgroup.procs per hierarchy), then pause's namespaces.
    const joins = nginx.steps.filter((st) => st.op === 'write_file' && st.path.endsWith('/nginx-container/cgroup.procs'));
    expect(joins.length > 0).toBe(cgroupsHere);
    expect(nginx.steps.slice(joins.length, joins.length + 3)).toEqual([
      { op: 'setns', path: '/proc/<pause pid>/ns/net', ns: 'net' },
      { op: 'setns', path: '/proc/<pause pid>/ns/ipc', ns: 'ipc' },
      { op: 'setns', path: '/proc/<pause pid>/ns/uts', ns: 'uts' },
    ]);
    const ops = nginx.steps.map((s) => s.op);
    expect(ops.indexOf('pivot_root')).toBeGreaterThan(ops.findIndex((_, i) => (nginx.steps[i] as { fstype?: string }).fstype === 'overlay'));
    const exec = nginx.steps.at(-1) as { op: string; argv: string[]; what: string };
    expect(exec).toMatchObject({ op: 'exec', what: 'httpd', statusFd: 99 });
    expect(exec.argv.slice(0, 2)).toEqual(['pause', '--exec']);
    expect(exec.argv.slice(-7)).toEqual(['httpd', '-f', '-vv', '-p', '80', '-h', '/usr/share/nginx/html']);
    expect(JSON.stringify(e)).not.toContain('4194305');

    const text = await run([process.execPath, bin, 'explain', '-f', example, '--root', where.root], { PEAPOD_IMAGES: where.images });
    const section = text.stdout.split('\n== ').find((s) => s.startsWith('container nginx-container')) ?? '';
    expect([...section.matchAll(/^\s+(\d+)\. /gm)]).toHaveLength(nginx.steps.length);
  });

  it('fails clearly on a missing manifest', async () => {
    const r = await run([process.execPath, bin, 'explain', '-f', '/nonexistent/pod.yaml']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/nonexistent\/pod\.yaml/);
    expect(r.stdout).toBe('');
  });
});

describe('explain: one printer per kind of step', () => {
  it('prints a step kind it does not know as its op and fields', () => {
    expect(formatStep({ op: 'landlock', paths: ['/data'], access: 'ro' })).toEqual(['landlock paths=["/data"] access="ro"']);
    expect(formatStep({ op: 'seccomp_notify', filter: Array.from({ length: 20 }, (_, i) => i) })).toEqual(['seccomp_notify filter=[20 items]']);
  });

  it('names the seccomp profile and the size of its filter', () => {
    const filter: Array<[number, number, number, number]> = [[0x20, 0, 0, 4], [0x06, 0, 0, 0x7fff0000]];
    expect(formatStep({ op: 'seccomp', filter, profile: 'Localhost /var/lib/peapod/seccomp/audit.json' })).toEqual([
      'seccomp(SECCOMP_SET_MODE_FILTER): the Localhost /var/lib/peapod/seccomp/audit.json profile as a BPF filter of 2 instructions (-o json shows them)',
    ]);
    expect(formatStep({ op: 'seccomp', filter })).toEqual(['seccomp(SECCOMP_SET_MODE_FILTER): a BPF filter of 2 instructions (-o json shows them)']);
  });

  it('falls back to the generic form when a known step lacks a field', () => {
    expect(formatStep({ op: 'mount', target: '/x' })).toEqual(['mount target="/x"']);
  });

  it('prints mounts as mount(8) would take them', () => {
    expect(formatStep({ op: 'mount', source: '', target: '/', flags: ['rec', 'private'] })[0]).toMatch(/^mount --make-rprivate \//);
    expect(formatStep({ op: 'mount', source: '/a', target: '/b', flags: ['bind', 'rec'] })).toEqual(['mount --rbind /a /b']);
    expect(formatStep({ op: 'mount', source: 'proc', target: '/p', fstype: 'proc', flags: ['nosuid', 'rdonly'] })).toEqual(['mount -t proc proc /p -o nosuid,ro']);
    expect(formatStep({ op: 'mount', source: '', target: '/b', flags: ['bind', 'remount', 'rdonly'] })).toEqual(['mount -o remount,bind,ro /b']);
  });
});
