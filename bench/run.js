#!/usr/bin/env node
// npm run bench: how fast and how light a pod is, against the floor (raw
// unshare / nsenter) and, with --with-podman, against podman, all in one run.
// The machines are noisy, so every case runs interleaved with its baseline
// (A B C, B C A, ...) and figures are medians with min/max and ratios taken
// in the same run. Prints a table; writes JSON (bench/results/latest.json).
// Needs root and a built tree (dist/, build/Release). See bench/README.md.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import { CASES, GROUPS } from './lib/cases.js';
import { CLI, Context, gitDescribe, loadRuntime, reclaimAbandoned, REPO, tmpfsBase } from './lib/context.js';
import { cniAvailable } from './lib/network.js';
import { containerdInstalled, criRegistryServes } from './lib/cri.js';
import { imageToolsPresent } from './lib/images.js';
import { detectPodman, Podman } from './lib/podman.js';
import { fsOf, meminfoKiB, mountsUnder, now, setClockTicks } from './lib/proc.js';
import { fmtRatio, fmtValue, median, pad, padLeft, pairedRatios, summary } from './lib/stats.js';

const USAGE = `usage: npm run bench -- [options]     (as root, after a build)

  --runs N          rounds of each interleaved case (default 10)
  --n N             pods in the density test (default 100)
  --zombies N       orphans in the zombie test (default 10000)
  --grace-runs N    rounds of the 2 s grace delete (default 3)
  --zombie-runs N   rounds of the zombie test (default 2)
  --quick           runs 5, n 20, zombies 2000, grace-runs 1, zombie-runs 1
  --only G,G        groups to run: ${GROUPS.map((g) => g.id).join(', ')}
  --with-podman     also run podman side by side (skipped cleanly if missing)
  --tmp DIR         where the temporary pod root goes (default $TMPDIR or /tmp)
  --out FILE        JSON output (default bench/results/latest.json)
  -h, --help`;

function parseOptions(argv) {
  const o = { runs: 10, n: 100, zombies: 10000, graceRuns: 3, zombieRuns: 2, withPodman: false, out: null, only: null, tmp: null };
  const set = {};
  const int = (flag, v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} needs a positive integer, got ${JSON.stringify(v)}`);
    return n;
  };
  const names = { '--runs': 'runs', '--n': 'n', '--zombies': 'zombies', '--grace-runs': 'graceRuns', '--zombie-runs': 'zombieRuns' };
  let quick = false;
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].includes('=') ? argv[i].split(/=(.*)/s) : [argv[i], undefined];
    const value = () => inline ?? argv[++i];
    if (names[flag]) set[names[flag]] = int(flag, value());
    else if (flag === '--quick') quick = true;
    else if (flag === '--with-podman') o.withPodman = true;
    else if (flag === '--out') o.out = resolve(value());
    else if (flag === '--tmp') o.tmp = resolve(value());
    else if (flag === '--only') o.only = value().split(',').map((s) => s.trim()).filter(Boolean);
    else if (flag === '-h' || flag === '--help') {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown option ${argv[i]}\n${USAGE}`);
  }
  if (quick) Object.assign(o, { runs: 5, n: 20, zombies: 2000, graceRuns: 1, zombieRuns: 1 });
  Object.assign(o, set);
  o.quick = quick;
  for (const g of o.only ?? []) if (!GROUPS.some((x) => x.id === g)) throw new Error(`--only: unknown group ${g}`);
  o.out ??= join(REPO, 'bench', 'results', 'latest.json');
  return o;
}

/** What exists today. A row whose needs are missing prints n/a and runs as soon as they appear. */
async function probe(rt, podman, ctx) {
  const help = spawnSync(process.execPath, [CLI, 'help'], { encoding: 'utf8' }).stdout ?? '';
  return {
    cni: await cniAvailable().catch(() => false),
    'cli:run-d': /peapod run\b[^\n]*(\s-d\b|--detach)/.test(help),
    'cli:delete': /peapod delete\b/.test(help),
    'cli:exec': /peapod exec\b/.test(help),
    'cli:daemon': /peapod daemon\b/.test(help),
    'lib:exec': typeof rt.PodWorker.prototype.exec === 'function',
    podman: podman.ok,
    tmpfs: ctx.tmpfsPaths !== undefined,
    images: imageToolsPresent(),
    'cri-registry': criRegistryServes(),
    containerd: containerdInstalled(),
  };
}

/** /proc/pressure/cpu "some" averages: how much others wanted the CPUs (load average counts our zombies too). */
function cpuPressure() {
  try {
    const m = readFileSync('/proc/pressure/cpu', 'utf8').match(/^some avg10=([\d.]+) avg60=([\d.]+) avg300=([\d.]+)/m);
    return m ? { avg10: Number(m[1]), avg60: Number(m[2]), avg300: Number(m[3]) } : null;
  } catch {
    return null;
  }
}

function rowGroup(row) {
  if (row.group) return row.group;
  return CASES.find((c) => c.id === row.by)?.group;
}

function rowNeeds(row) {
  const producer = row.by ? CASES.find((c) => c.id === row.by) : null;
  return [...(row.needs ?? []), ...(producer?.needs ?? [])];
}

function blockedReason(row, opts, probes, podman) {
  const group = rowGroup(row);
  if (opts.only && !opts.only.includes(group)) return 'skipped (--only)';
  for (const need of rowNeeds(row)) {
    if (probes[need]) continue;
    if (need === 'podman') return podman.reason;
    if (need === 'images') return 'n/a (docker-registry, skopeo or umoci missing: scripts/install-deps.sh)';
    if (need === 'cri-registry') return 'n/a (the cri-tools kit registry: ../shared/cri-tools/start-registry.sh, make-images.sh)';
    if (need === 'containerd') return "n/a (containerd not installed: Debian's containerd)";
    return 'n/a (not implemented)';
  }
  return null;
}

function rotate(list, k) {
  if (list.length === 0) return list;
  const s = k % list.length;
  return [...list.slice(s), ...list.slice(0, s)];
}

class Results {
  constructor() {
    this.rows = new Map(CASES.map((c) => [c.id, { samples: [], errors: [], extra: [] }]));
  }

  record(caseId, out, round) {
    if (typeof out === 'number') {
      this.rows.get(caseId).samples.push({ round, value: out });
      return;
    }
    for (const [key, value] of Object.entries(out)) {
      if (key === 'extra') {
        this.rows.get(caseId).extra.push(value);
        continue;
      }
      const row = this.rows.get(key);
      if (!row) throw new Error(`case ${caseId} produced unknown row ${key}`);
      if (Array.isArray(value)) value.forEach((v, i) => v !== null && row.samples.push({ round: `${round}.${i}`, value: v }));
      else if (value !== null && value !== undefined) row.samples.push({ round, value });
    }
  }

  error(caseId, err) {
    const ids = [caseId, ...CASES.filter((c) => c.by === caseId).map((c) => c.id)];
    for (const id of ids) this.rows.get(id).errors.push(err.message ?? String(err));
  }
}

async function runGroup(ctx, group, cases, results, log) {
  const runs = group.runs(ctx.opts);
  let state = {};
  try {
    if (group.setup) state = await group.setup(ctx, cases);
  } catch (err) {
    // Whatever the setup started is tracked by ctx and removed at cleanup.
    for (const c of cases) results.error(c.id, err);
    log(`  ${group.id} setup: ${err.message}`);
    return;
  }
  try {
    if (group.warmup) {
      for (const c of cases) await c.sample(ctx, state, 'warmup').catch(() => {});
    }
    for (let round = 0; round < runs; round++) {
      for (const c of rotate(cases, round)) {
        if (ctx.interrupted) return;
        try {
          results.record(c.id, await c.sample(ctx, state, round), round);
        } catch (err) {
          results.error(c.id, err);
          log(`  ${c.id} round ${round}: ${err.message}`);
        }
      }
    }
  } finally {
    if (group.teardown) await group.teardown(ctx, state).catch((e) => log(`  ${group.id} teardown: ${e.message}`));
  }
}

function evaluate(row, r, allRows) {
  const values = r.samples.map((s) => s.value);
  const out = { ...summary(values), samples: values };
  if (row.ratioTo) {
    for (const to of row.ratioTo) {
      const base = allRows.get(to);
      if (!base || base.samples.length === 0 || out.n === 0) continue;
      const baseMedian = median(base.samples.map((s) => s.value));
      const sameRounds = rowGroup(row) === rowGroup(CASES.find((c) => c.id === to));
      const paired = sameRounds
        ? pairedRatios(new Map(r.samples.map((s) => [s.round, s.value])), new Map(base.samples.map((s) => [s.round, s.value])))
        : [];
      out.ratio = paired.length > 0
        ? { to, paired: true, ...summary(paired) }
        : { to, paired: false, median: baseMedian > 0 ? out.median / baseMedian : null, min: null, max: null, n: 1 };
      break;
    }
  }
  if (row.target && out.n > 0) {
    const t = row.target;
    const ratio = out.ratio?.median;
    let met = null;
    if (t.kind === 'max') met = out.median <= t.value;
    else if (t.kind === 'lt') met = out.median < t.value;
    else if (t.kind === 'range') met = out.min >= t.min && out.max <= t.max;
    else if (t.kind === 'ratioMax') met = ratio === undefined ? null : ratio <= t.value;
    else if (t.kind === 'ratioMin') met = ratio === undefined ? null : ratio >= t.value;
    out.met = met;
  }
  return out;
}

function printTable(report) {
  const W = { label: 60, n: 5, v: 11, ratio: 20, target: 16 };
  const lines = [];
  const header =
    pad('case', W.label) + padLeft('n', W.n) + padLeft('median', W.v) + padLeft('min', W.v) + padLeft('max', W.v) +
    '  ' + pad('ratio (vs)', W.ratio) + pad('target', W.target) + 'result';
  lines.push(header, '-'.repeat(header.length));
  let section = null;
  for (const row of report.rows) {
    if (row.section !== section) {
      section = row.section;
      lines.push(`[${section}]`);
    }
    const label = pad(`  ${row.label}`, W.label);
    if (row.status !== 'ok' && row.n === 0) {
      lines.push(`${label}${padLeft('', W.n)}  ${row.status}`);
      continue;
    }
    const ratio = row.ratio ? `${fmtRatio(row.ratio.median)} ${row.ratio.to}` : '';
    const met = row.met === undefined ? '' : row.met === null ? 'n/a' : row.met ? 'met' : 'MISSED';
    lines.push(
      label + padLeft(row.n, W.n) + padLeft(fmtValue(row.median, row.unit), W.v) + padLeft(fmtValue(row.min, row.unit), W.v) +
        padLeft(fmtValue(row.max, row.unit), W.v) + '  ' + pad(ratio, W.ratio) + pad(row.target ?? '', W.target) + met +
        (row.errors.length ? `  (${row.errors.length} errors: ${row.errors[0].slice(0, 80)})` : ''),
    );
  }
  return lines.join('\n');
}

async function main() {
  const opts = parseOptions(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('the bench starts real pods: run it as root');
  process.env.PEAPOD_IMAGES ??= join(REPO, '.cache', 'images');
  // Pods have loopback only unless a row brings the bench's own network (never the host's default).
  process.env.PEAPOD_NETWORK ??= 'none';
  mkdirSync(process.env.PEAPOD_IMAGES, { recursive: true });
  const log = (m) => process.stderr.write(`${m}\n`);
  const clk = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout);
  setClockTicks(clk);
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc');

  const rt = await loadRuntime();
  reclaimAbandoned(rt, log, [opts.tmp ?? os.tmpdir(), tmpfsBase()].filter(Boolean));
  const { resolveImage } = await import(pathToFileURL(join(REPO, 'dist', 'image', 'store.js')).href);

  const ctx = new Context(opts, rt);
  ctx.gc = gc;
  let exitCode = 0;
  const onSignal = (sig) => {
    if (ctx.interrupted) return;
    ctx.interrupted = true;
    log(`\n${sig}: stopping every pod of the bench and removing ${ctx.work}`);
    void ctx.cleanup(log).then(async () => {
      const left = await ctx.leftoverPauses();
      if (left.length) log(`LEFT BEHIND: pause pids ${left.join(' ')}`);
      process.exit(130);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const started = new Date();
  const t0 = now();
  const load0 = os.loadavg();
  const pressure0 = cpuPressure();
  const podman = { ok: false, version: null, reason: 'skipped (no --with-podman)' };
  const results = new Results();
  let report;
  try {
    const image = resolveImage(ctx.paths.images, 'busybox'); // built once, before any timing
    if (opts.withPodman) {
      podman.version = detectPodman();
      if (!podman.version) podman.reason = 'n/a (podman not installed)';
      else {
        try {
          ctx.podman = new Podman(ctx, podman.version);
          await ctx.podman.setup(image.rootfs);
          podman.ok = true;
        } catch (err) {
          podman.reason = `n/a (podman setup failed: ${err.message.split('\n')[0].slice(0, 100)})`;
        }
      }
    }
    const probes = await probe(rt, podman, ctx);
    log(`peapod bench: ${os.availableParallelism?.() ?? os.cpus().length} CPUs, Linux ${os.release()}, node ${process.version}, ` +
      `runs ${opts.runs}, n ${opts.n}, zombies ${opts.zombies}${opts.quick ? ' (quick)' : ''}`);
    log(`probes: ${Object.entries(probes).map(([k, v]) => `${k}=${v ? 'yes' : 'no'}`).join(' ')}`);

    for (const group of GROUPS) {
      if (ctx.interrupted) break;
      const cases = CASES.filter((c) => c.group === group.id && c.sample && !blockedReason(c, opts, probes, podman));
      if (cases.length === 0) continue;
      const g0 = now();
      log(`${group.title}: ${cases.map((c) => c.id).join(', ')} ...`);
      await runGroup(ctx, group, cases, results, log);
      log(`  ${((now() - g0) / 1000).toFixed(1)} s`);
    }

    const rows = CASES.map((row) => {
      const r = results.rows.get(row.id);
      const blocked = blockedReason(row, opts, probes, podman);
      const ev = blocked ? { n: 0 } : evaluate(row, r, results.rows);
      const status = blocked ?? (ev.n > 0 ? 'ok' : r.errors.length ? `error: ${r.errors[0]}` : 'no samples');
      return {
        id: row.id, section: row.section, label: row.label, unit: row.unit, status,
        ...ev, target: row.target?.text, errors: r.errors, extra: r.extra,
      };
    });
    report = {
      bench: 'peapod',
      version: 1,
      date: started.toISOString(),
      durationSeconds: Number(((now() - t0) / 1000).toFixed(1)),
      machine: {
        hostname: os.hostname(),
        nproc: os.availableParallelism?.() ?? os.cpus().length,
        cpu: os.cpus()[0]?.model,
        kernel: os.release(),
        memTotalKiB: meminfoKiB('MemTotal'),
        node: process.version,
        loadavgStart: load0,
        cpuPressureStart: pressure0,
        cpuPressureEnd: cpuPressure(),
        loadavgEnd: os.loadavg(),
        podRootFs: fsOf(ctx.work),
        imageFs: fsOf(process.env.PEAPOD_IMAGES),
      },
      peapod: { commit: gitDescribe(), pauseBinary: rt.pauseBinary },
      podman: podman.version,
      options: opts,
      probes,
      rows,
    };
    if (rows.some((r) => r.errors.length > 0)) exitCode = 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (!ctx.interrupted) await ctx.cleanup(log);
  }
  if (ctx.interrupted) return new Promise(() => {}); // the signal handler exits

  // Nothing of the bench may remain: no pause it caused, no mount, no directory.
  const left = await ctx.leftoverPauses();
  const mounts = ctx.works.flatMap((w) => mountsUnder(w));
  report.cleanup = { pausesStarted: ctx.tracker.pauses.size, pausesLeft: left, mountsLeft: mounts };
  report.durationSeconds = Number(((now() - t0) / 1000).toFixed(1));

  console.log(
    `\npeapod bench  ${report.date}  ${report.machine.nproc} CPUs (${report.machine.cpu})  Linux ${report.machine.kernel}  ` +
      `node ${report.machine.node}  peapod ${report.peapod.commit ?? '?'}  cpu pressure avg60 ${report.machine.cpuPressureStart?.avg60 ?? '?'}%  ` +
      `pod root on ${report.machine.podRootFs.type} (${report.machine.podRootFs.point})`,
  );
  console.log(printTable(report));
  console.log(
    `\ncleanup: ${report.cleanup.pausesStarted} pause processes started, ${left.length} left${left.length ? ` (${left.join(' ')})` : ''}; ` +
      `${mounts.length} mounts left; ${report.durationSeconds} s in all`,
  );
  mkdirSync(dirname(opts.out), { recursive: true });
  writeFileSync(opts.out, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`JSON: ${opts.out}`);
  if (left.length || mounts.length) exitCode = 1;
  return exitCode;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`bench: ${err.stack ?? err.message}\n`);
    process.exitCode = 1;
  },
);
