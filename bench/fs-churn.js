#!/usr/bin/env node
// What a new file costs on a filesystem while files are being deleted
// around it, as a bench or a test suite does with its pods: on an ext4
// without a journal, a new inode steps over every one of its group freed
// in the last 30 s (recently_deleted() in fs/ext4/ialloc.c), so each round
// of deletions makes the next creates slower, until they age out. Per DIR,
// ROUNDS rounds one after another: create and delete K files, then time 20
// creates; prints the median create of each round.
//   node bench/fs-churn.js [--k 2000] [--rounds 5] DIR...     (e.g. /tmp /dev/shm)
import { closeSync, mkdtempSync, openSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { now } from './lib/proc.js';

const args = process.argv.slice(2);
const flag = (name, def) => {
  const i = args.indexOf(name);
  if (i < 0) return def;
  const [value] = args.splice(i, 2).slice(1);
  return Number(value);
};
const K = flag('--k', 2000);
const ROUNDS = flag('--rounds', 5);
if (args.length === 0) {
  console.error('usage: node bench/fs-churn.js [--k 2000] [--rounds 5] DIR...');
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
