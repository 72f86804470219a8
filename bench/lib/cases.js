// The one table of cases. Each row is a figure the bench reports; a row with
// `sample` is measured by that function, a row with `by` is measured by
// another row's sample (pod up and its delete come from the same pod).
//
// `needs` names what must exist for the row to run; a missing one prints
// "n/a (not implemented)". When peapod grows `run -d`, `delete`, `exec` or a
// library exec, the probes in run.js see it and the rows run, unchanged. The
// only guesses are the call shapes below, kept in one place each:
//   lib exec:  runtime.exec(containerName, argv)            (LIB_EXEC)
//   CLI:       peapod run -d -f FILE --root DIR
//              peapod delete pod NAME --root DIR [--grace-period N] [--force]
//              peapod exec NAME -c CONTAINER --root DIR -- CMD...
import { criContainerd, criPeapod, criSetup, criTeardown } from './cri.js';
import { imagesSetup, imagesTeardown, pullPeapod, pullPodman, pullSkopeo, unpackPeapod, unpackTar } from './images.js';
import { closeSync, constants, openSync, readdirSync, readFileSync } from 'node:fs';
import { childrenCpuMs, childrenOf, countPids, cpuMs, cpuMsAt, descendants, meminfoKiB, now, processes, reapedChildrenCpuMs, rollupKiB, sleep, sleepSync, statusKiB } from './proc.js';
import { podSpec, Proc, sleeper, termIgnorer } from './context.js';
import { median } from './stats.js';

export const FLOOR_UP = ['--pid', '--net', '--ipc', '--uts', '--mount', '--fork', '--mount-proc', 'true'];
const CLI_SETTLE_MS = 100;
const FLOOR_HOLD = ['--pid', '--net', '--ipc', '--uts', '--mount', '--fork', '--mount-proc', 'sleep', '1000'];

/** How the library's exec is called once it exists. */
export async function LIB_EXEC(runtime, container, argv) {
  const r = await runtime.exec(container, argv);
  const code = typeof r === 'number' ? r : (r?.exitCode ?? r?.code ?? 0);
  if (code !== 0) throw new Error(`exec ${argv.join(' ')}: exit ${code}`);
}

function expectSignal(result, names, signal) {
  for (const c of result.containers) {
    if (names.includes(c.name) && c.exit.signal !== signal) {
      throw new Error(`container ${c.name} ended with ${JSON.stringify(c.exit)}, expected signal ${signal}`);
    }
  }
}

// ------------------------------------------------------------ samplers

/** pause + 2 containers through the library, then a cooperative delete of the same pod. */
async function libLifecycle(ctx, paths = ctx.paths, suffix = '', options = {}) {
  const t0 = now();
  const runtime = await ctx.startPod(podSpec(ctx.name('up'), [sleeper('a'), sleeper('b')]), undefined, paths, options);
  const up = now() - t0;
  const pauseRss = statusKiB(runtime.sandbox.pid, 'VmRSS');
  const t1 = now();
  const result = await runtime.stop({ gracePeriodSeconds: 30 });
  const del = now() - t1;
  expectSignal(result, ['a', 'b'], 15);
  if (suffix) return { [`up.lib${suffix}`]: up, [`delete.lib${suffix}`]: del };
  return { 'up.lib': up, 'delete.lib': del, 'pause.rss.up': pauseRss };
}

/** The CLI as it exists today: a foreground `peapod run`, up until it says "running", deleted by SIGTERM. */
async function cliForeground(ctx) {
  const name = ctx.name('fg');
  const file = ctx.manifest(podSpec(name, [sleeper('a'), sleeper('b')]));
  const p = ctx.proc(['run', '-f', file, '--root', ctx.root]);
  try {
    const upAt = await p.waitStderr(/running/, 30_000);
    const rec = ctx.record(name);
    const said = p.stderr.match(/pause pid (\d+)/);
    ctx.trackPause(rec?.sandbox?.pid ?? (said ? Number(said[1]) : 0));
    // src/cli/run.ts prints "running" before it installs its SIGTERM handler:
    // a TERM sent at once kills it by default action (pod left to reclaim).
    // Give it time to get there; the delete is timed from the kill.
    await sleep(CLI_SETTLE_MS);
    const t1 = now();
    p.kill('SIGTERM');
    const exit = await p.exited;
    if (!/deleted/.test(p.stderr)) throw new Error(`peapod run did not report the pod deleted: ${p.stderr.trim().slice(-300)}`);
    return { 'up.cli.fg': upAt - p.startedAt, 'delete.cli.fg': exit.at - t1 };
  } finally {
    if (p.exitedAt === undefined) {
      p.kill('SIGTERM');
      await p.exited;
    }
  }
}

/** `peapod run -d` (whole process) and `peapod delete pod` (whole process). */
async function cliDetached(ctx, containers, graceSeconds) {
  const name = ctx.name('cli');
  const file = ctx.manifest(podSpec(name, containers));
  ctx.tracker.cliPods.add(name);
  const up = await ctx.cli(['run', '-d', '-f', file, '--root', ctx.root]);
  const rec = ctx.record(name);
  if (rec?.sandbox) ctx.trackPause(rec.sandbox.pid);
  const args = ['delete', 'pod', name, '--root', ctx.root];
  if (graceSeconds !== undefined) args.push('--grace-period', String(graceSeconds));
  const del = await ctx.cli(args);
  ctx.tracker.cliPods.delete(name);
  return { up: up.ms, del: del.ms };
}

async function podmanLifecycle(ctx) {
  const name = ctx.name('pm');
  const t0 = now();
  await ctx.podman.up(name, [sleeper('a'), sleeper('b')]);
  const up = now() - t0;
  let infraRss = null;
  try {
    infraRss = statusKiB(await ctx.podman.infraPid(name), 'VmRSS');
  } catch {
    // Reported as missing.
  }
  const t1 = now();
  await ctx.podman.rm(name, 30);
  const out = { 'up.podman': up, 'delete.podman': now() - t1 };
  if (infraRss !== null) out['podman.infra.rss'] = infraRss;
  return out;
}

/** The teardown floor: SIGKILL the init of an unshared PID namespace, until its parent (unshare) has exited. */
async function killNamespaceInit(ctx) {
  const p = new Proc(ctx.tracker, 'unshare', FLOOR_HOLD);
  try {
    // The namespace's init: unshare's child, once it runs sleep.
    let init = null;
    const deadline = now() + 5000;
    while (init === null) {
      if (now() > deadline || p.exitedAt !== undefined) throw new Error(`unshare did not start sleep: ${p.stderr.trim()}`);
      init = processes().find((x) => x.ppid === p.child.pid && x.comm === 'sleep')?.pid ?? null;
      if (init === null) await sleep(2);
    }
    const t0 = now();
    process.kill(init, 'SIGKILL');
    const exit = await p.exited;
    return exit.at - t0;
  } finally {
    if (p.exitedAt === undefined) {
      p.kill('SIGKILL');
      await p.exited;
    }
  }
}

async function libGrace(ctx) {
  let ready;
  const isReady = new Promise((resolve) => (ready = resolve));
  const runtime = await ctx.startPod(podSpec(ctx.name('grace'), [sleeper('a'), termIgnorer('b')]), (c, _s, line) => c === 'b' && line === 'ready' && ready());
  await isReady;
  const t0 = now();
  const result = await runtime.stop({ gracePeriodSeconds: 2 });
  const ms = now() - t0;
  expectSignal(result, ['a'], 15);
  expectSignal(result, ['b'], 9);
  return ms;
}

async function podmanGrace(ctx) {
  const name = ctx.name('pmgrace');
  await ctx.podman.up(name, [sleeper('a'), termIgnorer('b')]);
  const t0 = now();
  await ctx.podman.rm(name, 2);
  return now() - t0;
}

/** N pods of one sleeping container: create one by one, weigh, delete all at once. */
async function density(ctx) {
  const n = ctx.opts.n;
  const weigh = async () => {
    ctx.gc();
    await sleep(20);
    ctx.gc();
    const m = process.memoryUsage();
    return { rss: m.rss / 1024, heap: m.heapUsed / 1024 };
  };
  // The supervisor's cost per pod: the slope of its RSS (after a GC) over
  // the pod count, from checkpoints taken while the pods are created.
  const checkpoints = [];
  const every = Math.max(1, Math.floor(n / 10));
  checkpoints.push({ pods: 0, ...(await weigh()) });
  const kernel = () => ['Slab', 'PageTables', 'KernelStack'].reduce((a, f) => a + (meminfoKiB(f) ?? 0), 0);
  const avail0 = meminfoKiB('MemAvailable');
  const kernel0 = kernel();
  const runtimes = [];
  const creates = [];
  try {
    for (let i = 0; i < n; i++) {
      const t0 = now();
      runtimes.push(await ctx.startPod(podSpec(ctx.name('d'), [sleeper('c')])));
      creates.push(now() - t0);
      if ((i + 1) % every === 0 || i + 1 === n) checkpoints.push({ pods: i + 1, ...(await weigh()) });
    }
    await sleep(300);
    const avail1 = meminfoKiB('MemAvailable');
    const kernel1 = kernel();
    const pausePids = runtimes.map((r) => r.sandbox.pid);
    const containerPids = runtimes.flatMap((r) => [...r.containers.values()].map((c) => c.pid));
    // A per-container monitor (conmon-like) would be a process of ours that is neither a pod's process nor below one.
    const all = processes();
    const podProcs = new Set([...pausePids, ...containerPids]);
    for (const pid of [...pausePids, ...containerPids]) for (const d of descendants(pid, all)) podProcs.add(d.pid);
    const extra = descendants(process.pid, all).filter((p) => !podProcs.has(p.pid) && p.state !== 'Z');
    const out = {
      'density.create': creates,
      'density.mem': [(avail0 - avail1) / n],
      'density.kernel': [(kernel1 - kernel0) / n],
      'density.supervisor.rss': [slope(checkpoints, 'rss')],
      'density.supervisor.heap': [slope(checkpoints, 'heap')],
      'pause.rss': pausePids.map((p) => statusKiB(p, 'VmRSS')),
      'pause.rss.anon': pausePids.map((p) => statusKiB(p, 'RssAnon')),
      'pause.pss': pausePids.map((p) => rollupKiB(p, 'Pss')),
      'container.rss': containerPids.map((p) => statusKiB(p, 'VmRSS')),
      'density.monitors': [extra.length / containerPids.length],
    };
    const t0 = now();
    await Promise.all(runtimes.map((r) => r.stop({ gracePeriodSeconds: 30 })));
    const allMs = now() - t0;
    out['density.delete'] = [allMs / n];
    out['density.delete.all'] = [allMs];
    const tenth = Math.max(1, Math.floor(n / 10));
    out.extra = {
      pods: n,
      createFirstTenthMedianMs: median(creates.slice(0, tenth)),
      createLastTenthMedianMs: median(creates.slice(-tenth)),
      supervisorCheckpointsKiB: checkpoints,
      memAvailableKiB: { before: avail0, after: avail1 },
      extraProcesses: extra.map((p) => `${p.pid} ${p.comm}`),
    };
    return out;
  } finally {
    const left = runtimes.filter((r) => ctx.tracker.runtimes.has(r));
    await Promise.all(left.map((r) => r.stop({ force: true })));
  }
}

/**
 * N detached pods of one sleeping container through the CLI and the node
 * daemon (issue 12): `peapod run -d` one after another (whole processes),
 * then what exists because of the pods, resident: each pause, the reaper's
 * share, and the daemon's growth; no other process per pod. Then one
 * `peapod delete pod` of them all, and the daemon stopped.
 */
async function detachedDensity(ctx) {
  const n = ctx.opts.n;
  const spec = (name) => ctx.manifest(podSpec(name, [sleeper('c')]));
  const run = async (name) => {
    ctx.tracker.cliPods.add(name);
    const r = await ctx.cli(['run', '-d', '-f', spec(name), '--root', ctx.root]);
    const rec = ctx.record(name);
    if (rec?.sandbox) ctx.trackPause(rec.sandbox.pid);
    return r.ms;
  };
  // The first run -d starts the daemon (and reads the image): not one of the N.
  const warm = ctx.name('dd-warm');
  await run(warm);
  const daemon = ctx.daemon();
  if (!daemon) throw new Error('no node daemon runs after run -d');
  // RSS after a moment to settle, so the warm-up pod's own growth is done.
  await sleep(300);
  const before = statusKiB(daemon.pid, 'VmRSS');
  const names = [];
  const creates = [];
  // Node's own start-up, in turn with each create: what a CLI pays whatever it does.
  const floors = [];
  for (let i = 0; i < n; i++) {
    const name = ctx.name('dd');
    names.push(name);
    creates.push(await run(name));
    floors.push((await ctx.timed(process.execPath, ['-e', ''])).ms);
  }
  await sleep(300);
  const all = processes();
  const pods = childrenOf(daemon.pid, all);
  const pauses = pods.filter((p) => p.comm === 'pause').map((p) => p.pid);
  const growth = statusKiB(daemon.pid, 'VmRSS') - before;
  const pauseRss = pauses.map((p) => statusKiB(p, 'VmRSS'));
  const reaper = statusKiB(daemon.reaper.pid, 'VmRSS');
  const pauseAvg = pauseRss.reduce((a, b) => a + b, 0) / pauseRss.length;
  // What is not a container (nor below one) among the daemon's children: per pod, pause alone.
  const containers = pods.filter((p) => p.comm !== 'pause');
  const perPodOther = (pods.length - containers.length) / pauses.length;
  const out = {
    'detached.create': creates,
    'detached.node': floors,
    'detached.overhead': [pauseAvg + growth / n + reaper / n],
    'detached.daemon.rss': [growth / n],
    'detached.pause.rss': pauseRss,
    'detached.reaper.rss': [reaper],
    'detached.processes': [perPodOther],
  };
  const t0 = now();
  await ctx.cli(['delete', 'pod', warm, ...names, '--force', '--root', ctx.root], { timeoutMs: 120_000 });
  out['detached.delete'] = [(now() - t0) / (n + 1)];
  for (const name of [warm, ...names]) ctx.tracker.cliPods.delete(name);
  await ctx.cli(['daemon', '--stop', '--root', ctx.root]);
  out.extra = { pods: n, daemonRssKiB: { before, after: before + growth }, reaperKiB: reaper, processesPerPod: pods.length / pauses.length };
  return out;
}

/** The same N pods through podman: per pod, catatonit (its infra) and a conmon for each of its two containers. */
async function podmanDensity(ctx) {
  const n = ctx.opts.n;
  const names = [];
  const creates = [];
  try {
    for (let i = 0; i < n; i++) {
      const name = ctx.name('pmd');
      names.push(name);
      const t0 = now();
      await ctx.podman.up(name, [sleeper('c')]);
      creates.push(now() - t0);
    }
    await sleep(300);
    const all = processes();
    const ours = (p) => {
      try {
        return readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').includes(ctx.podman.dir);
      } catch {
        return false;
      }
    };
    const conmons = all.filter((p) => p.comm === 'conmon' && ours(p)).map((p) => statusKiB(p.pid, 'VmRSS'));
    const infras = await Promise.all(names.map((name) => ctx.podman.infraPid(name).then((pid) => statusKiB(pid, 'VmRSS'))));
    const sum = (list) => list.reduce((a, b) => a + b, 0);
    return {
      'detached.podman.create': creates,
      'detached.podman.overhead': [(sum(conmons) + sum(infras)) / n],
      'detached.podman.conmon': conmons,
      extra: { pods: n, conmons: conmons.length, conmonKiB: sum(conmons), catatonitKiB: sum(infras) },
    };
  } finally {
    for (const name of names) await ctx.podman.rm(name, 0).catch(() => undefined);
  }
}

/** Least-squares slope of points[key] over points.pods. */
function slope(points, key) {
  const n = points.length;
  if (n < 2) return null;
  const mx = points.reduce((a, p) => a + p.pods, 0) / n;
  const my = points.reduce((a, p) => a + p[key], 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.pods - mx) * (p[key] - my);
    den += (p.pods - mx) ** 2;
  }
  return den > 0 ? num / den : null;
}

/**
 * Zombie reaping: a container makes `count` orphans (shells that background
 * `cat FIFO` and exit at once, so each cat is re-parented to pause, PID 1 of
 * the pod), all blocked on one FIFO. The bench opens the FIFO for writing
 * from the host and closes it: every cat reads EOF and exits together. Timed
 * from that open until the pod's PID namespace (its /proc, seen from the
 * host through the container's root) holds only pause and the container's
 * main process again: the last zombie has been reaped.
 */
async function zombies(ctx) {
  const count = ctx.opts.zombies;
  const per = Math.min(1000, count);
  const shells = Math.ceil(count / per);
  const total = per * shells;
  const script = [
    'mkfifo /tmp/go',
    `for j in $(seq 1 ${shells}); do sh -c 'for i in $(seq 1 ${per}); do cat /tmp/go & done; exit 0' & done`,
    'wait',
    'echo ready',
    'exec sleep 100000',
  ].join('\n');
  let ready;
  const isReady = new Promise((resolve) => (ready = resolve));
  const t0 = now();
  const runtime = await ctx.startPod(
    podSpec(ctx.name('zombies'), [{ name: 'orphans', image: 'busybox', command: ['sh', '-c', script] }]),
    (_c, _s, line) => line === 'ready' && ready(),
    undefined,
    // The pod's pids limit (4096 by default) would hold the orphans back.
    { podPidsLimit: count + 256 },
  );
  try {
    let timer;
    try {
      await Promise.race([
        isReady,
        runtime.done.then(() => {
          throw new Error('the orphan maker exited before it was ready');
        }),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('the orphan maker was not ready after 180 s')), 180_000);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
    const created = now() - t0;
    const main = runtime.containers.get('orphans').pid;
    const procDir = `/proc/${main}/root/proc`;
    const base = 2; // pause and the container's main process
    // Every orphan must be blocked opening the FIFO (wchan wait_for_partner) before the trigger.
    const until = now() + 30_000;
    const mainPodPid = podPidOf(main);
    let pids;
    for (;;) {
      pids = readPodPids(procDir).filter((p) => p > 1 && p !== mainPodPid);
      const notYet = pids.filter((p) => wchan(procDir, p) !== 'wait_for_partner');
      if (pids.length >= total && notYet.length === 0) break;
      if (now() > until) throw new Error(`only ${pids.length - notYet.length} of ${total} orphans wait on the FIFO`);
      await sleep(20);
    }
    const sample = pids.slice(0, 200);
    const reparented = sample.filter((p) => ppidIn(procDir, p) === 1).length / sample.length;
    const pause = runtime.sandbox.pid;
    // What the orphans have used so far: their CPU during the burst is what
    // pause's reaped-children time grows by, minus this.
    const orphansBefore = pids.reduce((a, p) => a + (cpuMsAt(`${procDir}/${p}`) ?? 0), 0);
    const reaped0 = reapedChildrenCpuMs(pause);
    const cpu0 = cpuMs(pause);
    const fifo = `/proc/${main}/root/tmp/go`;
    const t1 = now();
    closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
    let retriggers = 0;
    let lastTrigger = t1;
    let polls = 0;
    for (;;) {
      const left = countPids(procDir) - base;
      if (left <= 0) break;
      polls++;
      const t = now();
      if (t - t1 > 60_000) throw new Error(`${left} orphans still not reaped after 60 s`);
      // A cat that reached open() only after the writer closed waits for the next writer.
      if (t - lastTrigger > 250) {
        try {
          closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
          retriggers++;
        } catch {
          // ENXIO: no reader left, only zombies.
        }
        lastTrigger = t;
      }
      sleepSync(1);
    }
    const reap = now() - t1;
    return {
      'zombies.reap': reap,
      'zombies.pause.cpu': cpuMs(pause) - cpu0,
      'zombies.orphans.cpu': reapedChildrenCpuMs(pause) - reaped0 - orphansBefore,
      'zombies.create': created,
      extra: { orphans: total, reparentedToPause: reparented, retriggers, polls },
    };
  } finally {
    if (ctx.tracker.runtimes.has(runtime)) await runtime.stop({ force: true });
  }
}

function readPodPids(procDir) {
  return readdirSync(procDir).filter((e) => e.charCodeAt(0) >= 48 && e.charCodeAt(0) <= 57).map(Number);
}

function wchan(procDir, pid) {
  try {
    return readFileSync(`${procDir}/${pid}/wchan`, 'utf8').trim();
  } catch {
    return null;
  }
}

function ppidIn(procDir, pid) {
  try {
    const m = readFileSync(`${procDir}/${pid}/status`, 'utf8').match(/^PPid:\s+(\d+)/m);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** A host pid's pid in its innermost PID namespace (NSpid's last field). */
function podPidOf(hostPid) {
  try {
    const m = readFileSync(`/proc/${hostPid}/status`, 'utf8').match(/^NSpid:\s+(.*)$/m);
    const ids = m ? m[1].trim().split(/\s+/) : [];
    return Number(ids[ids.length - 1]);
  } catch {
    return null;
  }
}

/**
 * Probe cost: N pods (--n), each one container serving HTTP (busybox httpd)
 * with a readiness probe every second, of one kind per set of pods (none,
 * tcpSocket, httpGet, exec). Once every pod is ready, the supervisor's own
 * CPU time (this process: the pod workers run here) is measured over a
 * window and given as a share of one CPU. Exec probes also cost the probe's
 * processes (their clone, setns, cgroup joins, exec): that CPU is the
 * reaped children's, given apart. The pods of one kind are deleted before
 * the next kind starts.
 */
const PROBE_KINDS = {
  none: undefined,
  tcp: { tcpSocket: { port: 8080 } },
  http: { httpGet: { path: '/', port: 8080 } },
  exec: { exec: { command: ['true'] } },
};

async function probeCost(ctx) {
  const n = ctx.opts.n;
  const windowMs = ctx.opts.quick ? 5000 : 10_000;
  const out = { extra: { pods: n, windowMs } };
  const selfCpuMs = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  for (const [kind, handler] of Object.entries(PROBE_KINDS)) {
    const web = {
      name: 'web',
      image: 'busybox',
      command: ['sh', '-c', 'mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www'],
      ...(handler ? { readinessProbe: { ...handler, periodSeconds: 1 } } : {}),
    };
    const runtimes = [];
    try {
      for (let i = 0; i < n; i++) runtimes.push(await ctx.startPod(podSpec(ctx.name(`probe-${kind}`), [web])));
      const ready = () => runtimes.every((r) => r.computeStatus().containerStatuses[0]?.ready);
      for (const t0 = now(); !ready(); await sleep(50)) {
        if (now() - t0 > 30_000) throw new Error(`${kind} probes: not every pod ready after 30 s`);
      }
      // A period for the probes to fall into their rhythm, then the window.
      await sleep(1000);
      const children0 = childrenCpuMs(process.pid) ?? 0;
      const cpu0 = selfCpuMs();
      const t0 = now();
      await sleep(windowMs);
      const wall = now() - t0;
      out[`probes.${kind}`] = [((selfCpuMs() - cpu0) / wall) * 100];
      if (kind === 'exec') out['probes.exec.children'] = [(((childrenCpuMs(process.pid) ?? 0) - children0) / wall) * 100];
      out.extra[kind] = { probesPerSecond: handler ? n : 0, supervisorCpuMs: selfCpuMs() - cpu0, wallMs: wall };
    } finally {
      await Promise.all(runtimes.map((r) => r.stop({ force: true })));
    }
  }
  return out;
}

// ------------------------------------------------------------ the table

const LIB_EXEC_NEED = 'lib:exec';

/**
 * Groups run one after the other; inside a group the cases are interleaved
 * round by round (A B C, B C A, ...), after one unrecorded warm-up round.
 */
export const GROUPS = [
  { id: 'lifecycle', title: 'pod up and delete', runs: (o) => o.runs, warmup: true },
  { id: 'grace', title: 'delete with a TERM-ignoring container, grace 2 s', runs: (o) => o.graceRuns, warmup: false },
  { id: 'exec', title: 'exec', runs: (o) => o.runs, warmup: true, setup: execSetup, teardown: execTeardown },
  { id: 'density', title: 'density', runs: () => 1, warmup: false },
  { id: 'detached', title: 'N detached pods through the node daemon', runs: () => 1, warmup: false },
  { id: 'zombies', title: 'zombie reaping', runs: (o) => o.zombieRuns, warmup: false },
  { id: 'probes', title: 'probe cost (N pods, a readiness probe each every second)', runs: () => 1, warmup: false },
  { id: 'images', title: 'image pull and unpack (local registry, 4 layers, ~26 MB)', runs: (o) => (o.quick ? 2 : 4), warmup: true, setup: imagesSetup, teardown: imagesTeardown },
  { id: 'cri', title: 'through the CRI socket (host-network pod, one container)', runs: (o) => o.runs, warmup: true, setup: criSetup, teardown: criTeardown },
];

async function execSetup(ctx, cases) {
  const state = {};
  if (cases.some((c) => c.id !== 'exec.podman')) {
    state.runtime = await ctx.startPod(podSpec(ctx.name('exec'), [sleeper('a')]));
    state.pid = state.runtime.containers.get('a').pid;
  }
  if (cases.some((c) => c.id === 'exec.podman')) {
    state.podmanPod = ctx.name('pmexec');
    await ctx.podman.up(state.podmanPod, [sleeper('a')]);
  }
  return state;
}

async function execTeardown(ctx, state) {
  if (state.runtime) await state.runtime.stop({ force: true });
  if (state.podmanPod) await ctx.podman.rm(state.podmanPod, 0);
}

export const CASES = [
  // 1. pod up
  {
    id: 'up.floor', section: 'pod up', group: 'lifecycle', unit: 'ms',
    label: 'floor: unshare -p -n -i -u -m --fork --mount-proc true',
    sample: async (ctx) => (await ctx.timed('unshare', FLOOR_UP)).ms,
  },
  {
    id: 'up.node', section: 'pod up', group: 'lifecycle', unit: 'ms',
    label: 'floor of CLI rows: node -e "" (Node start-up)',
    sample: async (ctx) => (await ctx.timed(process.execPath, ['-e', ''])).ms,
  },
  {
    id: 'up.lib', section: 'pod up', group: 'lifecycle', unit: 'ms', ratioTo: ['up.floor'],
    label: 'library: PodWorker.start, pause + 2 containers exec\'d',
    target: { kind: 'ratioMax', value: 3, text: '<= 3x floor' },
    sample: (ctx) => libLifecycle(ctx),
  },
  {
    id: 'up.lib.tmpfs', section: 'pod up', group: 'lifecycle', unit: 'ms', ratioTo: ['up.floor'], needs: ['tmpfs'],
    label: 'library, pod root on tmpfs (/dev/shm) instead',
    target: { kind: 'ratioMax', value: 3, text: '<= 3x floor' },
    sample: (ctx) => libLifecycle(ctx, ctx.tmpfsPaths, '.tmpfs'),
  },
  {
    id: 'up.lib.split', section: 'pod up', group: 'lifecycle', unit: 'ms', ratioTo: ['up.floor'], needs: ['tmpfs'],
    label: 'library, default layout: state root on tmpfs (/dev/shm), data root on disk',
    target: { kind: 'ratioMax', value: 3, text: '<= 3x floor' },
    sample: (ctx) => libLifecycle(ctx, ctx.splitPaths, '.split'),
  },
  {
    id: 'up.lib.net', section: 'pod up', group: 'lifecycle', unit: 'ms', ratioTo: ['up.lib'], needs: ['cni'],
    label: 'library, with a pod network (CNI: bridge + host-local, portmap, firewall; ratio to no network)',
    sample: async (ctx) => libLifecycle(ctx, ctx.paths, '.net', { network: (await ctx.network()).options }),
  },
  {
    id: 'up.cli.fg', section: 'pod up', group: 'lifecycle', unit: 'ms', ratioTo: ['up.floor'],
    label: 'CLI: peapod run -f (foreground), until "running"',
    sample: cliForeground,
  },
  {
    id: 'up.cli', section: 'pod up', group: 'lifecycle', unit: 'ms', ratioTo: ['up.floor'], needs: ['cli:run-d', 'cli:delete'],
    label: 'CLI: peapod run -d (whole process; the node daemon starts the pod)',
    sample: async (ctx) => {
      const r = await cliDetached(ctx, [sleeper('a'), sleeper('b')]);
      return { 'up.cli': r.up, 'delete.cli': r.del };
    },
  },
  {
    id: 'up.podman', section: 'pod up', group: 'lifecycle', unit: 'ms', ratioTo: ['up.lib'], needs: ['podman'],
    label: 'podman: pod create + 2 x run -d (ratio podman/peapod)',
    target: { kind: 'ratioMin', value: 50, text: 'podman >= 50x' },
    sample: podmanLifecycle,
  },

  // 2. pod delete
  {
    id: 'delete.floor', section: 'pod delete', group: 'lifecycle', unit: 'ms',
    label: 'floor: SIGKILL an unshared PID ns init, until unshare exits',
    sample: killNamespaceInit,
  },
  {
    id: 'delete.lib', section: 'pod delete', by: 'up.lib', unit: 'ms', ratioTo: ['delete.floor'],
    label: 'library: stop(), 2 cooperative containers',
    target: { kind: 'max', value: 10, text: '<= 10 ms' },
  },
  {
    id: 'delete.lib.net', section: 'pod delete', by: 'up.lib.net', unit: 'ms', ratioTo: ['delete.lib'],
    label: 'library, with the pod network (CNI DEL; ratio to no network)',
  },
  {
    id: 'delete.lib.tmpfs', section: 'pod delete', by: 'up.lib.tmpfs', unit: 'ms', ratioTo: ['delete.floor'],
    label: 'library, pod root on tmpfs (/dev/shm) instead',
    target: { kind: 'max', value: 10, text: '<= 10 ms' },
  },
  {
    id: 'delete.lib.split', section: 'pod delete', by: 'up.lib.split', unit: 'ms', ratioTo: ['delete.floor'],
    label: 'library, default layout: state root on tmpfs, data root on disk',
    target: { kind: 'max', value: 10, text: '<= 10 ms' },
  },
  {
    id: 'delete.cli.fg', section: 'pod delete', by: 'up.cli.fg', unit: 'ms', ratioTo: ['delete.floor'],
    label: 'CLI: SIGTERM to the foreground run, until it exits',
  },
  {
    id: 'delete.cli', section: 'pod delete', by: 'up.cli', unit: 'ms', ratioTo: ['delete.floor'],
    label: 'CLI: peapod delete pod (whole process)',
  },
  {
    id: 'delete.podman', section: 'pod delete', by: 'up.podman', unit: 'ms', ratioTo: ['delete.lib'],
    label: 'podman: pod rm -f -t 30 (ratio podman/peapod)',
  },
  {
    id: 'delete.grace.lib', section: 'pod delete', group: 'grace', unit: 'ms',
    label: 'library: stop(grace 2 s), 1 TERM-ignoring + 1 cooperative',
    target: { kind: 'range', min: 2000, max: 2100, text: '2.0-2.1 s' },
    sample: libGrace,
  },
  {
    id: 'delete.grace.cli', section: 'pod delete', group: 'grace', unit: 'ms', needs: ['cli:run-d', 'cli:delete'],
    label: 'CLI: peapod delete pod --grace-period 2 (whole process)',
    target: { kind: 'range', min: 2000, max: 2100 + 300, text: '2.0-2.1s +node' },
    sample: async (ctx) => (await cliDetached(ctx, [sleeper('a'), termIgnorer('b')], 2)).del,
  },
  {
    id: 'delete.grace.podman', section: 'pod delete', group: 'grace', unit: 'ms', needs: ['podman'], ratioTo: ['delete.grace.lib'],
    label: 'podman: pod rm -f -t 2, same pod',
    sample: podmanGrace,
  },

  // 3. exec
  {
    id: 'exec.floor', section: 'exec', group: 'exec', unit: 'ms',
    label: 'floor: nsenter -t PID -p -n -i -u -m true',
    sample: async (ctx, state) => (await ctx.timed('nsenter', ['-t', String(state.pid), '-p', '-n', '-i', '-u', '-m', 'true'])).ms,
  },
  {
    id: 'exec.lib', section: 'exec', group: 'exec', unit: 'ms', ratioTo: ['exec.floor'], needs: [LIB_EXEC_NEED],
    label: 'library: runtime.exec(container, ["true"])',
    target: { kind: 'ratioMax', value: 2, text: '<= 2x nsenter' },
    sample: async (ctx, state) => {
      const t0 = now();
      await LIB_EXEC(state.runtime, 'a', ['true']);
      return now() - t0;
    },
  },
  {
    id: 'exec.cli', section: 'exec', group: 'exec', unit: 'ms', ratioTo: ['exec.floor'], needs: ['cli:exec'],
    label: 'CLI: peapod exec NAME -c a -- true (whole process)',
    sample: async (ctx, state) => (await ctx.cli(['exec', state.runtime.name, '-c', 'a', '--root', ctx.root, '--', 'true'])).ms,
  },
  {
    id: 'exec.podman', section: 'exec', group: 'exec', unit: 'ms', ratioTo: ['exec.lib', 'exec.floor'], needs: ['podman'],
    label: 'podman: exec true (ratio podman/peapod, else /nsenter)',
    sample: async (ctx, state) => (await ctx.podman.exec(state.podmanPod, 'a', ['true'])).ms,
  },

  // 4. density
  {
    id: 'density.create', section: 'density', group: 'density', unit: 'ms', ratioTo: ['up.floor'],
    label: 'N pods of 1 sleep, one by one: create, per pod',
    target: { kind: 'max', value: 10, text: '<= 10 ms' },
    sample: density,
  },
  {
    id: 'density.delete', section: 'density', by: 'density.create', unit: 'ms',
    label: 'delete all N at once (Promise.all), per pod',
  },
  {
    id: 'density.delete.all', section: 'density', by: 'density.create', unit: 'ms',
    label: 'delete all N at once, total',
  },
  {
    id: 'density.mem', section: 'density', by: 'density.create', unit: 'KiB',
    label: 'MemAvailable drop per pod (whole host, noisy)',
  },
  {
    id: 'density.kernel', section: 'density', by: 'density.create', unit: 'KiB',
    label: 'kernel memory per pod (Slab+PageTables+KernelStack)',
  },
  {
    id: 'density.supervisor.rss', section: 'density', by: 'density.create', unit: 'KiB',
    label: 'supervisor (Node) RSS growth per pod (slope)',
  },
  {
    id: 'density.supervisor.heap', section: 'density', by: 'density.create', unit: 'KiB',
    label: 'supervisor JS heap growth per pod',
  },
  {
    id: 'density.monitors', section: 'density', by: 'density.create', unit: '',
    label: 'monitor processes per container',
    target: { kind: 'max', value: 0, text: '0' },
  },
  {
    id: 'pause.rss', section: 'memory', by: 'density.create', unit: 'KiB',
    label: 'pause VmRSS (density pods)',
    target: { kind: 'max', value: 256, text: '<= 256 KiB' },
  },
  {
    id: 'pause.rss.anon', section: 'memory', by: 'density.create', unit: 'KiB',
    label: 'pause RssAnon (its own pages)',
  },
  {
    id: 'pause.pss', section: 'memory', by: 'density.create', unit: 'KiB',
    label: 'pause Pss (shared pages split among pauses)',
  },
  {
    id: 'pause.rss.up', section: 'memory', by: 'up.lib', unit: 'KiB',
    label: 'pause VmRSS (2-container pods, right after up)',
  },
  {
    id: 'container.rss', section: 'memory', by: 'density.create', unit: 'KiB',
    label: 'container VmRSS (busybox sleep)',
  },
  {
    id: 'podman.infra.rss', section: 'memory', by: 'up.podman', unit: 'KiB', ratioTo: ['pause.rss'],
    label: 'podman infra (catatonit) VmRSS',
  },

  // 4b. detached pods: the node daemon, beside podman
  {
    id: 'detached.create', section: 'detached', group: 'detached', unit: 'ms', ratioTo: ['detached.node'], needs: ['cli:run-d', 'cli:delete', 'cli:daemon'],
    label: 'CLI: peapod run -d of N pods one after another, per pod (whole process)',
    sample: detachedDensity,
  },
  {
    id: 'detached.node', section: 'detached', by: 'detached.create', unit: 'ms',
    label: 'floor: node -e "" (Node start-up), in turn with each run -d',
  },
  {
    id: 'detached.overhead', section: 'detached', by: 'detached.create', unit: 'KiB',
    label: 'resident per pod: pause + the reaper\'s share + the daemon\'s growth',
    target: { kind: 'max', value: 1024, text: '<= 1 MiB' },
  },
  {
    id: 'detached.daemon.rss', section: 'detached', by: 'detached.create', unit: 'KiB',
    label: 'daemon (Node) RSS growth per pod',
  },
  {
    id: 'detached.pause.rss', section: 'detached', by: 'detached.create', unit: 'KiB',
    label: 'pause VmRSS',
  },
  {
    id: 'detached.reaper.rss', section: 'detached', by: 'detached.create', unit: 'KiB',
    label: 'peapod-reaper VmRSS (one per daemon, not per pod)',
  },
  {
    id: 'detached.processes', section: 'detached', by: 'detached.create', unit: '',
    label: 'processes per pod besides its containers',
    target: { kind: 'max', value: 1, text: 'pause alone' },
  },
  {
    id: 'detached.delete', section: 'detached', by: 'detached.create', unit: 'ms',
    label: 'peapod delete pod of all N, per pod',
  },
  {
    id: 'detached.podman.create', section: 'detached', group: 'detached', unit: 'ms', ratioTo: ['detached.create'], needs: ['podman'],
    label: 'podman: pod create + run -d of N pods, per pod (ratio podman/peapod)',
    sample: podmanDensity,
  },
  {
    id: 'detached.podman.overhead', section: 'detached', by: 'detached.podman.create', unit: 'KiB', ratioTo: ['detached.overhead'],
    label: 'podman resident per pod: catatonit + 2 conmon (ratio podman/peapod)',
  },
  {
    id: 'detached.podman.conmon', section: 'detached', by: 'detached.podman.create', unit: 'KiB',
    label: 'podman: one conmon VmRSS',
  },

  // 5. zombies
  {
    id: 'zombies.reap', section: 'zombies', group: 'zombies', unit: 'ms',
    label: 'orphans exit at once: until the last zombie is reaped',
    target: { kind: 'max', value: 1000, text: '< 1 s' },
    sample: zombies,
  },
  {
    id: 'zombies.pause.cpu', section: 'zombies', by: 'zombies.reap', unit: 'ms',
    label: 'pause CPU time (user+sys) during that',
  },
  {
    id: 'zombies.orphans.cpu', section: 'zombies', by: 'zombies.reap', unit: 'ms',
    label: 'the orphans\' own CPU to wake and exit (all of them)',
  },
  {
    id: 'zombies.create', section: 'zombies', by: 'zombies.reap', unit: 'ms',
    label: 'pod up + making the orphans (info)',
  },

  // 6. probes
  {
    id: 'probes.none', section: 'probes', group: 'probes', unit: '%',
    label: 'N pods serving HTTP, no probe: supervisor CPU (of one CPU)',
    sample: probeCost,
  },
  {
    id: 'probes.tcp', section: 'probes', by: 'probes.none', unit: '%',
    label: 'same, a tcpSocket probe each every 1 s',
    target: { kind: 'max', value: 5, text: '<= 5 % of a CPU' },
  },
  {
    id: 'probes.http', section: 'probes', by: 'probes.none', unit: '%',
    label: 'same, an httpGet probe each every 1 s',
    target: { kind: 'max', value: 5, text: '<= 5 % of a CPU' },
  },
  {
    id: 'probes.exec', section: 'probes', by: 'probes.none', unit: '%',
    label: 'same, an exec probe (true) each every 1 s',
    target: { kind: 'max', value: 5, text: '<= 5 % of a CPU' },
  },
  {
    id: 'probes.exec.children', section: 'probes', by: 'probes.none', unit: '%',
    label: 'the exec probes\' own processes (reaped children, not peapod)',
  },

  // 7. images
  {
    id: 'images.pull.peapod', section: 'images', group: 'images', unit: 'ms', ratioTo: ['images.pull.skopeo'], needs: ['images'],
    label: 'CLI: peapod pull, 4 layers into an empty store (whole process)',
    sample: pullPeapod,
  },
  {
    id: 'images.pull.skopeo', section: 'images', group: 'images', unit: 'ms', needs: ['images'],
    label: 'skopeo copy docker://... oci:DIR (no unpacking)',
    sample: pullSkopeo,
  },
  {
    id: 'images.pull.podman', section: 'images', group: 'images', unit: 'ms', ratioTo: ['images.pull.peapod'], needs: ['images', 'podman'],
    label: 'podman pull into empty storage (ratio podman/peapod)',
    sample: pullPodman,
  },
  {
    id: 'images.unpack.peapod', section: 'images', group: 'images', unit: 'ms', ratioTo: ['images.unpack.tar'], needs: ['images'],
    label: 'library: unpackLayer of the 4 gzip layers (digest, whiteouts, commit)',
    sample: unpackPeapod,
  },
  {
    id: 'images.unpack.tar', section: 'images', group: 'images', unit: 'ms', needs: ['images'],
    label: 'tar -xzf of the same 4 layers',
    sample: unpackTar,
  },

  // 8. the CRI
  {
    id: 'cri.peapod', section: 'CRI', group: 'cri', unit: 'ms', needs: ['cri-registry'],
    label: 'peapod cri: RunPodSandbox + CreateContainer + StartContainer over gRPC',
    sample: criPeapod,
  },
  {
    id: 'cri.containerd', section: 'CRI', group: 'cri', unit: 'ms', ratioTo: ['cri.peapod'], needs: ['cri-registry', 'containerd'],
    label: 'containerd 1.6 (runc), the same calls (ratio containerd/peapod)',
    sample: criContainerd,
  },
];
