#!/usr/bin/env node
// One change against the commit before it, side by side in one process:
// two built checkouts (each its own dist/ and addon), their pods started
// and deleted in interleaved rounds (A B, B A, ...) after a warm-up, so
// both see the same machine. Prints medians, min/max and the median of
// the per-round ratios B/A. Build the other checkout first, e.g.
//   git worktree add /tmp/peapod-prev HEAD~1 && (cd /tmp/peapod-prev && npm ci && npm run build)
//   node bench/ab.js --a /tmp/peapod-prev --b . [--runs 20] [--containers 2]
//   node bench/ab.js --a /tmp/peapod-prev --b . --density 500 [--rounds 2]
//   node bench/ab.js --a /tmp/peapod-prev --b . --cli [--runs 10]   (whole CLI processes: run -f until "running" and its SIGTERM, get pods, node -e "")
// --gap MS idles before each timed pod (default 200). --tmp DIR puts the pod roots elsewhere (default $TMPDIR or /tmp).
// --state DIR splits them as peapod's defaults do on a host: the state root under DIR (a tmpfs such as /dev/shm, as /run is), the data root under --tmp.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { podSpec, REPO, sleeper } from './lib/context.js';
import { mountsUnder, now, sleep } from './lib/proc.js';

const args = process.argv.slice(2);
const arg = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const A = resolve(arg('--a', REPO));
const B = resolve(arg('--b', REPO));
const RUNS = Number(arg('--runs', 20));
const CONTAINERS = Number(arg('--containers', 2));
const DENSITY = Number(arg('--density', 0));
const CLI = args.includes('--cli');
const ROUNDS = Number(arg('--rounds', 2));
const TMP = arg('--tmp', tmpdir());
const STATE = arg('--state', null);
// Idle time before each timed pod: a first cgroup v1 migration after a quiet spell waits for an RCU
// grace period, one right after another does not; without a gap the side that goes second gains.
const GAP_MS = Number(arg('--gap', 200));
process.env.PEAPOD_NETWORK ??= 'none';
process.env.PEAPOD_IMAGES ??= join(REPO, '.cache', 'images');

async function side(label, dir) {
  const load = (f) => import(pathToFileURL(join(dir, 'dist', f)).href);
  // --cli times whole processes: the library's pod worker is not loaded (a checkout from before the split has none).
  const [{ PodWorker }, { runtimePaths }, { umount }] = await Promise.all([CLI ? {} : load('kubelet/pod-worker.js'), load('runtime/paths.js'), load('native/addon.js')]);
  const root = mkdtempSync(join(TMP, `peapod-ab-${label}-`));
  const state = STATE ? mkdtempSync(join(STATE, `peapod-ab-${label}-`)) : null;
  const paths = state ? runtimePaths({}, { PEAPOD_STATE_ROOT: state, PEAPOD_DATA_ROOT: root, PEAPOD_IMAGES: process.env.PEAPOD_IMAGES }) : runtimePaths({ root });
  return { label, dir, PodWorker, paths, root, roots: state ? [root, state] : [root], umount, live: new Set(), up: [], down: [] };
}

const sides = [await side('A', A), await side('B', B)];
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (ms) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(2)).padStart(7);

async function upDown(s, name, containers) {
  await sleep(GAP_MS);
  let t = now();
  const pod = await s.PodWorker.start(podSpec(name, containers), { paths: s.paths });
  s.live.add(pod);
  const up = now() - t;
  t = now();
  await pod.stop({ gracePeriodSeconds: 30 });
  s.live.delete(pod);
  return [up, now() - t];
}

async function density(s, round) {
  const pods = [];
  await sleep(GAP_MS);
  const t0 = now();
  for (let i = 0; i < DENSITY; i++) {
    const pod = await s.PodWorker.start(podSpec(`d${round}-${i}`, [sleeper('c')]), { paths: s.paths });
    s.live.add(pod);
    pods.push(pod);
  }
  const up = (now() - t0) / DENSITY;
  const t1 = now();
  await Promise.all(pods.map((p) => p.stop({ gracePeriodSeconds: 30 })));
  for (const p of pods) s.live.delete(p);
  return [up, (now() - t1) / DENSITY];
}

/** A process until it exits, or (with `until`) until its stderr matches: ms. */
function timed(argv, until) {
  return new Promise((resolve, reject) => {
    const t = now();
    const p = spawn(process.execPath, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (c) => {
      err += c;
      if (until && until.test(err)) resolve({ ms: now() - t, p });
    });
    p.on('error', reject);
    p.on('exit', (code) => (until ? reject(new Error(`${argv.join(' ')} exited ${code}: ${err}`)) : code === 0 ? resolve({ ms: now() - t }) : reject(new Error(`${argv.join(' ')}: exit ${code}: ${err}`))));
  });
}

async function cliRound(s, r) {
  const cli = join(s.dir, 'bin', 'peapod.js');
  const file = join(s.root, `cli-${r}.json`);
  writeFileSync(file, JSON.stringify(podSpec(`cli-${r}`, [sleeper('c0'), sleeper('c1')])));
  await sleep(GAP_MS);
  const up = await timed([cli, 'run', '-f', file, '--root', s.root], /running/);
  const t = now();
  const gone = new Promise((res) => up.p.on('exit', res));
  up.p.kill('SIGTERM');
  await gone;
  const down = now() - t;
  const get = await timed([cli, 'get', 'pods', '--root', s.root]);
  const bare = await timed(['-e', '']);
  return { up: up.ms, down, get: get.ms, node: bare.ms };
}

if (CLI) {
  const ROWS = ['up', 'down', 'get', 'node'];
  for (const s of sides) for (const row of ROWS) s[row] ??= [];
  try {
    for (const s of sides) await cliRound(s, `warm-${s.label.toLowerCase()}`);
    for (let r = 0; r < RUNS; r++) {
      const order = r % 2 === 0 ? sides : [...sides].reverse();
      for (const s of order) {
        const got = await cliRound(s, r);
        for (const row of ROWS) s[row].push(got[row]);
      }
    }
    console.log(`CLI, ${RUNS} rounds: run -f until "running" (up), its SIGTERM until exit (down), get pods, node -e ""; A = ${A}, B = ${B}`);
    for (const row of ROWS) {
      for (const s of sides) console.log(`${`${row} ${s.label}`.padEnd(8)} ${fmt(median(s[row]))} ${fmt(Math.min(...s[row]))} ${fmt(Math.max(...s[row]))}`);
      const rs = sides[1][row].map((b, i) => b / sides[0][row][i]);
      console.log(`${`${row} B/A`.padEnd(8)} ${median(rs).toFixed(2).padStart(7)} ${Math.min(...rs).toFixed(2).padStart(7)} ${Math.max(...rs).toFixed(2).padStart(7)}   (per-round ratios)`);
    }
  } finally {
    for (const s of sides) {
      for (const root of s.roots) {
        for (const p of mountsUnder(root)) s.umount(p, true);
        rmSync(root, { recursive: true, force: true });
      }
    }
  }
  process.exit(0);
}

try {
  const containers = Array.from({ length: CONTAINERS }, (_, i) => sleeper(`c${i}`));
  for (const s of sides) for (let i = 0; i < 3; i++) await upDown(s, `warm-${i}`, containers);
  const rounds = DENSITY > 0 ? ROUNDS : RUNS;
  const ratios = { up: [], down: [] };
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? sides : [...sides].reverse();
    const got = new Map();
    for (const s of order) got.set(s, DENSITY > 0 ? await density(s, r) : await upDown(s, `p-${r}`, containers));
    for (const s of sides) {
      s.up.push(got.get(s)[0]);
      s.down.push(got.get(s)[1]);
    }
    ratios.up.push(got.get(sides[1])[0] / got.get(sides[0])[0]);
    ratios.down.push(got.get(sides[1])[1] / got.get(sides[0])[1]);
  }
  const what = DENSITY > 0 ? `${DENSITY} pods of 1 container one by one, per pod; then all deleted at once, per pod (${rounds} rounds)` : `pod of ${CONTAINERS} containers, ${rounds} rounds`;
  console.log(`${what}; A = ${A}, B = ${B}; tmp ${TMP}${STATE ? `, state roots in ${STATE}` : ''}`);
  console.log(`${''.padEnd(8)} ${'median'.padStart(7)} ${'min'.padStart(7)} ${'max'.padStart(7)}   (ms)`);
  for (const phase of ['up', 'down']) {
    for (const s of sides) {
      const xs = s[phase];
      console.log(`${`${phase} ${s.label}`.padEnd(8)} ${fmt(median(xs))} ${fmt(Math.min(...xs))} ${fmt(Math.max(...xs))}`);
    }
    const rs = ratios[phase];
    console.log(`${`${phase} B/A`.padEnd(8)} ${median(rs).toFixed(2).padStart(7)} ${Math.min(...rs).toFixed(2).padStart(7)} ${Math.max(...rs).toFixed(2).padStart(7)}   (per-round ratios)`);
  }
} finally {
  for (const s of sides) {
    for (const pod of s.live) await pod.stop({ force: true }).catch(() => undefined);
    for (const root of s.roots) {
      for (const p of mountsUnder(root)) s.umount(p, true);
      rmSync(root, { recursive: true, force: true });
    }
  }
}
