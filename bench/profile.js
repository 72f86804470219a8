#!/usr/bin/env node
// Where the time of a pod up and a pod delete goes, in-process: every call
// into the addon (the vfork-style spawns of pause and of each container,
// mount, umount, ...) and every synchronous fs call of the runtime is timed;
// what is left is JavaScript and waiting. With --cpu, V8's profiler lists the
// functions that cost the most. Not a benchmark (the wrappers add a little):
// a map of what to optimise.
//   node bench/profile.js [--runs 30] [--containers 2] [--cpu]
//   node bench/profile.js --density 100     (N one-container pods, then all stopped at once)
//   node bench/profile.js --state /dev/shm  (peapod's default layout: the state root on a tmpfs, the data root under $TMPDIR)
import { createRequire, syncBuiltinESMExports } from 'node:module';
import fs from 'node:fs';
import inspector from 'node:inspector';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { podSpec, REPO, sleeper } from './lib/context.js';
import { mountsUnder, now } from './lib/proc.js';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const RUNS = opt('--runs', 30);
const CONTAINERS = opt('--containers', 2);
const CPU = args.includes('--cpu');
const DENSITY = opt('--density', 0);

let phase = null; // 'up' | 'down' | null
const acc = { up: new Map(), down: new Map() };
function add(key, ms) {
  if (!phase) return;
  const m = acc[phase];
  const e = m.get(key) ?? { ms: 0, calls: 0 };
  e.ms += ms;
  e.calls++;
  m.set(key, e);
}

// 1. The addon: the same object dist/native/addon.js loads (require cache).
const require = createRequire(import.meta.url);
const addon = require(join(REPO, 'build', 'Release', 'peapod.node'));
for (const [name, fn] of Object.entries(addon)) {
  if (typeof fn !== 'function') continue;
  addon[name] = function (...a) {
    const t = now();
    try {
      return fn.apply(this, a);
    } finally {
      const which = name === 'spawn' ? `native spawn (${a[0]?.name === 'pause' ? 'pause' : 'container'})` : `native ${name}`;
      add(which, now() - t);
    }
  };
}

// 2. Synchronous fs calls (the runtime's named imports see these wrappers).
const FS = ['readFileSync', 'writeFileSync', 'renameSync', 'mkdirSync', 'rmSync', 'readdirSync', 'statSync', 'lstatSync',
  'openSync', 'closeSync', 'copyFileSync', 'existsSync', 'readlinkSync', 'realpathSync', 'unlinkSync', 'writeSync', 'fstatSync'];
for (const name of FS) {
  const fn = fs[name];
  fs[name] = function (...a) {
    const t = now();
    try {
      return fn.apply(this, a);
    } finally {
      const p = typeof a[0] === 'string' ? a[0] : '';
      add(`fs ${name}${p.startsWith('/proc') ? ' /proc' : ''}`, now() - t);
    }
  };
}
syncBuiltinESMExports();

process.env.PEAPOD_IMAGES ??= join(REPO, '.cache', 'images');
// As the bench's rows: no pod network (a CNI ADD and DEL would be most of what is timed).
process.env.PEAPOD_NETWORK ??= 'none';
const { PodWorker } = await import(pathToFileURL(join(REPO, 'dist', 'kubelet', 'pod-worker.js')).href);
const { runtimePaths } = await import(pathToFileURL(join(REPO, 'dist', 'runtime', 'paths.js')).href);
const { umount } = await import(pathToFileURL(join(REPO, 'dist', 'native', 'addon.js')).href);

const root = fs.mkdtempSync(join(tmpdir(), 'peapod-profile-'));
const stateArg = args.indexOf('--state');
const stateRoot = stateArg >= 0 ? fs.mkdtempSync(join(args[stateArg + 1], 'peapod-profile-')) : null;
const paths = stateRoot ? runtimePaths({}, { PEAPOD_STATE_ROOT: stateRoot, PEAPOD_DATA_ROOT: root, PEAPOD_IMAGES: process.env.PEAPOD_IMAGES }) : runtimePaths({ root });
const containers = Array.from({ length: CONTAINERS }, (_, i) => sleeper(`c${i}`));
const totals = { up: [], down: [] };
const session = new inspector.Session();
const live = new Set();
try {
  for (let i = 0; i < 3; i++) await (await PodWorker.start(podSpec(`warm-${i}`, containers), { paths })).stop({ force: true });
  if (CPU) {
    session.connect();
    await new Promise((r) => session.post('Profiler.enable', r));
    await new Promise((r) => session.post('Profiler.setSamplingInterval', { interval: 100 }, r));
    await new Promise((r) => session.post('Profiler.start', r));
  }
  if (DENSITY > 0) {
    const pods = [];
    phase = 'up';
    let t = now();
    for (let i = 0; i < DENSITY; i++) {
      const rt = await PodWorker.start(podSpec(`d-${i}`, [sleeper('c')]), { paths });
      live.add(rt);
      pods.push(rt);
    }
    totals.up.push((now() - t) / DENSITY);
    phase = 'down';
    t = now();
    await Promise.all(pods.map((rt) => rt.stop({ gracePeriodSeconds: 30 })));
    for (const rt of pods) live.delete(rt);
    totals.down.push((now() - t) / DENSITY);
    phase = null;
  }
  for (let i = 0; i < (DENSITY > 0 ? 0 : RUNS); i++) {
    phase = 'up';
    let t = now();
    const rt = await PodWorker.start(podSpec(`p-${i}`, containers), { paths });
    live.add(rt);
    totals.up.push(now() - t);
    phase = 'down';
    t = now();
    await rt.stop({ gracePeriodSeconds: 30 });
    live.delete(rt);
    totals.down.push(now() - t);
    phase = null;
  }
  let profile = null;
  if (CPU) profile = await new Promise((r) => session.post('Profiler.stop', (_e, res) => r(res.profile)));

  const per = DENSITY > 0 ? DENSITY : RUNS;
  for (const p of ['up', 'down']) {
    const total = totals[p].reduce((a, b) => a + b, 0) / totals[p].length;
    const what = DENSITY > 0
      ? `${p === 'up' ? `${DENSITY} pods of 1 container, one by one` : `all ${DENSITY} stopped at once`}: ${total.toFixed(2)} ms per pod`
      : `pod ${p === 'up' ? 'up (PodWorker.start)' : 'delete (stop, cooperative)'}, ${CONTAINERS} containers: ${total.toFixed(2)} ms mean over ${RUNS}`;
    console.log(`\n${what}`);
    const rows = [...acc[p]].sort((a, b) => b[1].ms - a[1].ms);
    let accounted = 0;
    for (const [k, v] of rows) {
      accounted += v.ms / per;
      if (v.ms / per < 0.05) continue;
      console.log(`  ${k.padEnd(34)} ${(v.ms / per).toFixed(2).padStart(7)} ms  ${(v.calls / per).toFixed(1).padStart(5)} calls/pod`);
    }
    console.log(`  ${'(JS, event loop, waiting)'.padEnd(34)} ${(total - accounted).toFixed(2).padStart(7)} ms`);
  }
  if (profile) {
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const self = new Map();
    for (let i = 0; i < profile.samples.length; i++) {
      const n = byId.get(profile.samples[i]);
      const f = n.callFrame;
      const key = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(dist|bench)\//, '$1/')}:${f.lineNumber + 1}`;
      self.set(key, (self.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0));
    }
    console.log(`\nV8 self time, top 20 (both phases, ${per} pods):`);
    for (const [k, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 20)) {
      console.log(`  ${(us / 1000 / per).toFixed(2).padStart(7)} ms/pod  ${k}`);
    }
  }
} finally {
  phase = null;
  for (const rt of live) await rt.stop({ force: true });
  for (const dir of stateRoot ? [root, stateRoot] : [root]) {
    for (const p of mountsUnder(dir)) umount(p, true);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  session.disconnect();
}
