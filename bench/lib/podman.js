// podman side by side (--with-podman): the same pods, on the same busybox
// root filesystem, through `podman pod create --share pid,net,ipc,uts` and
// `podman run -d --pod`. Its storage lives in the run's temporary directory
// (--root/--runroot), so the host's podman state is never touched. Never
// required: without podman these rows say so and the bench goes on.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mountsUnder } from './proc.js';

const IMAGE = 'localhost/peapod-bench-busybox:latest';
const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** podman's version, or null when it is not installed (or does not run). */
export function detectPodman() {
  const r = spawnSync('podman', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return null;
  return r.stdout.trim();
}

function hardNofile() {
  try {
    const m = readFileSync('/proc/self/limits', 'utf8').match(/^Max open files\s+\S+\s+(\S+)/m);
    return m && m[1] !== 'unlimited' ? Number(m[1]) : 1 << 20;
  } catch {
    return 20000;
  }
}

/**
 * The configuration podman needs on a host without systemd (see
 * DESIGN.md): cgroupfs, a file event log, runc, and ulimits under the
 * hard limits (CAP_SYS_RESOURCE may be missing, so they cannot be raised).
 */
export function containersConf() {
  const nofile = Math.min(20000, hardNofile());
  return [
    '[containers]',
    `default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=32768:32768"]`,
    '',
    '[engine]',
    'cgroup_manager = "cgroupfs"',
    'events_logger = "file"',
    'runtime = "runc"',
    '',
  ].join('\n');
}

export class Podman {
  constructor(ctx, version) {
    this.ctx = ctx;
    this.version = version;
    this.dir = join(ctx.work, 'podman');
    this.pods = new Set();
    mkdirSync(this.dir, { recursive: true });
    this.conf = join(this.dir, 'containers.conf');
    writeFileSync(this.conf, containersConf());
    // A CONTAINERS_CONF of the user's wins over ours.
    this.env = { ...process.env, CONTAINERS_CONF: process.env.CONTAINERS_CONF ?? this.conf };
    this.global = ['--root', join(this.dir, 'storage'), '--runroot', join(this.dir, 'run')];
  }

  run(args, options = {}) {
    return this.ctx.timed('podman', [...this.global, ...args], { env: this.env, timeoutMs: 120_000, ...options });
  }

  /** Imports the busybox rootfs peapod uses as a podman image. */
  async setup(rootfs) {
    const tar = join(this.dir, 'busybox.tar');
    await this.ctx.timed('tar', ['-C', rootfs, '-cf', tar, '.']);
    await this.run(['import', '--change', `ENV ${PATH_ENV}`, tar, IMAGE]);
  }

  async up(name, containers) {
    this.pods.add(name);
    await this.run(['pod', 'create', '--share', 'pid,net,ipc,uts', '--name', name]);
    for (const c of containers) {
      await this.run(['run', '-d', '--pod', name, '--name', `${name}-${c.name}`, IMAGE, ...c.command]);
    }
  }

  async rm(name, graceSeconds) {
    await this.run(['pod', 'rm', '-f', '-t', String(graceSeconds), name]);
    this.pods.delete(name);
  }

  exec(name, container, argv) {
    return this.run(['exec', `${name}-${container}`, ...argv]);
  }

  /** The pid of the pod's infra process (catatonit), for its RSS. */
  async infraPid(name) {
    const id = (await this.run(['pod', 'inspect', '--format', '{{.InfraContainerID}}', name], { stdout: true })).stdout.trim();
    const pid = (await this.run(['inspect', '--format', '{{.State.Pid}}', id], { stdout: true })).stdout.trim();
    return Number(pid);
  }

  async cleanup(log) {
    for (const name of this.pods) {
      await this.run(['pod', 'rm', '-f', '-t', '0', name], { ok: null }).catch((e) => log(`podman pod rm ${name}: ${e.message}`));
    }
    this.pods.clear();
    if (existsSync(join(this.dir, 'storage'))) {
      await this.run(['rmi', '-af'], { ok: null }).catch((e) => log(`podman rmi: ${e.message}`));
    }
    // The storage driver's own mounts under our directory; the caller removes the tree.
    for (const point of mountsUnder(this.dir)) {
      try {
        this.ctx.rt.umount(point, true);
      } catch (e) {
        log(`umount ${point}: ${e.message}`);
      }
    }
  }
}
