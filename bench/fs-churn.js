#!/usr/bin/env node
// What a new file costs on a filesystem while files are being deleted
// around it, as a bench or a test suite does with its pods: on an ext4
// without a journal, a new inode steps over every one of its group freed
// in the last 30 s (recently_deleted() in fs/ext4/ialloc.c), so each round
// of deletions makes the next creates slower, until they age out. Per DIR,
// ROUNDS rounds one after another: create and delete K files, then time 20
// creates; prints the median create of each round.
// Then what peapod does about it: PODS pods' worth of entries (a directory
// of 2 containers' directories and files, 20 entries) made and removed one
// pod after another, under a plain parent and under one marked as the top
// of unrelated trees (chattr +T, as peapod marks each pods/): the median
// time to make a pod's entries, after the first 100.
//   node bench/fs-churn.js [--k 2000] [--rounds 5] [--pods 1500] DIR...     (e.g. /tmp /dev/shm)
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { now } from './lib/proc.js';
import { REPO } from './lib/repo.js';

const { markTopDir } = await import(pathToFileURL(join(REPO, 'dist', 'native', 'addon.js')).href);

const args = process.argv.slice(2);
const flag = (name, def) => {
  const i = args.indexOf(name);
  if (i < 0) return def;
  const [value] = args.splice(i, 2).slice(1);
  return Number(value);
};
const K = flag('--k', 2000);
const ROUNDS = flag('--rounds', 5);
const PODS = flag('--pods', 1500);
if (args.length === 0) {
  console.error('usage: node bench/fs-churn.js [--k 2000] [--rounds 5] [--pods 1500] DIR...');
  process.exit(2);
}

const touch = (path) => closeSync(openSync(path, 'wx', 0o600));

for (const dir of args) {
  const work = mkdtempSync(join(dir, 'peapod-churn-'));
  const medians = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < K; i++) touch(join(work, `old-${round}-${i}`));
      for (let i = 0; i < K; i++) unlinkSync(join(work, `old-${round}-${i}`));
      const times = [];
      for (let i = 0; i < 20; i++) {
        const t = now();
        touch(join(work, `new-${round}-${i}`));
        times.push(now() - t);
      }
      times.sort((a, b) => a - b);
      medians.push((times[10] ?? 0).toFixed(3));
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  console.log(`${dir}: a create after each round of ${K} deletions: ${medians.join(' ')} ms`);
}

/** One pod's entries: its directory, and per container a directory with upper/, work/ and six files. */
function makePod(dir) {
  mkdirSync(dir);
  for (const c of ['c0', 'c1']) {
    const d = join(dir, c);
    mkdirSync(d);
    mkdirSync(join(d, 'upper'));
    mkdirSync(join(d, 'work'));
    for (let k = 0; k < 6; k++) touch(join(d, `f${k}`));
  }
}

/** The median time to make a pod's entries under `parent` (each pod removed before the next). */
function podChurn(parent) {
  const times = [];
  for (let i = 0; i < PODS; i++) {
    const pod = join(parent, `p-${i}`);
    const t = now();
    makePod(pod);
    if (i >= 100) times.push(now() - t);
    rmSync(pod, { recursive: true });
  }
  times.sort((a, b) => a - b);
  return (times[times.length >> 1] ?? 0).toFixed(3);
}

for (const dir of PODS > 100 ? args : []) {
  const work = mkdtempSync(join(dir, 'peapod-churn-'));
  try {
    mkdirSync(join(work, 'plain'));
    mkdirSync(join(work, 'top'));
    const marked = markTopDir(join(work, 'top'));
    const plain = podChurn(join(work, 'plain'));
    const top = marked ? `, ${podChurn(join(work, 'top'))} ms under a +T one` : ' (no +T here: the filesystem keeps no such flag)';
    console.log(`${dir}: a pod's 20 entries, ${PODS} pods one after another: ${plain} ms under a plain parent${top}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
