// pause on its own: PID 1 of a fresh PID namespace, started with signals
// blocked so that not even an immediate SIGTERM is lost.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pauseBinary } from '../../src/package.js';
import { sandboxPlan } from '../../src/plan/sandbox.js';
import { PlanProcess } from '../../src/runtime/process.js';
import { isRoot, waitFor } from './helpers.js';
import { isAlive, signalBit, signalMask } from './proc.js';

function startPause(): PlanProcess {
  return PlanProcess.spawn(sandboxPlan({ hostname: 'p', pauseBinary }), [-1, -1, -1]);
}

function status(pid: number, field: string): string {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${field}:`));
  return (line ?? '').split(':')[1]?.trim() ?? '';
}

/** Where pause is built without libc (binding.gyp): its resident memory is a few pages. */
const libcFree = process.arch === 'x64' || process.arch === 'arm64';

const PT_DYNAMIC = 2;
const PT_INTERP = 3;

/** The p_type of every program header of a 64-bit little-endian ELF file. */
function programHeaderTypes(elf: Buffer): number[] {
  expect(elf.subarray(0, 6)).toEqual(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1]));
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  const phnum = elf.readUInt16LE(0x38);
  return Array.from({ length: phnum }, (_, i) => elf.readUInt32LE(phoff + i * phentsize));
}

describe('pause', () => {
  it('prints its version with -v', () => {
    expect(execFileSync(pauseBinary, ['-v']).toString()).toMatch(/^peapod-pause \d+\.\d+\.\d+\n$/);
  });

  it('is a static binary', () => {
    // A static pause needs nothing from the host's (or an image's) libraries.
    const elf = readFileSync(pauseBinary);
    expect(elf.includes(Buffer.from('/lib64/ld-linux'))).toBe(false);
    // No program interpreter and no dynamic section: nothing is loaded but the binary.
    expect(programHeaderTypes(elf)).not.toContain(PT_INTERP);
    expect(programHeaderTypes(elf)).not.toContain(PT_DYNAMIC);
  });

  it.runIf(libcFree)('is built without libc on x86_64 and aarch64', () => {
    // A few KB of code and page padding; a static glibc alone is ~680 KB.
    expect(statSync(pauseBinary).size).toBeLessThan(128 * 1024);
    expect(readFileSync(pauseBinary).includes(Buffer.from('GLIBC'))).toBe(false);
  });
});

describe('pause --init, the init of a container with its own PID namespace', () => {
  const init = (...args: string[]) => spawnSync(pauseBinary, ['--init', ...args], { encoding: 'utf8', env: { FROM_ENV: 'passed' } });

  it('exits as its command does: the exit code, or 128+N for a signal', () => {
    expect(init('1', '/bin/sh', 'sh', '-c', 'exit 5').status).toBe(5);
    expect(init('1', '/bin/sh', 'sh', '-c', 'kill -KILL $$').status).toBe(128 + 9);
  });

  it('runs the first candidate that exists, with its environment; 127 and 126 when none can run', () => {
    const r = init('2', '/nonexistent/sh', '/bin/sh', 'sh', '-c', 'echo "$FROM_ENV"');
    expect([r.status, r.stdout]).toEqual([0, 'passed\n']);
    const missing = init('1', '/nonexistent/sh', 'sh');
    expect([missing.status, missing.stderr]).toEqual([127, 'pause --init: exec sh: No such file or directory\n']);
    const dir = mkdtempSync(join(tmpdir(), 'pause-'));
    try {
      writeFileSync(join(dir, 'plain'), '', { mode: 0o644 });
      const notExecutable = init('1', join(dir, 'plain'), 'x');
      expect([notExecutable.status, notExecutable.stderr]).toEqual([126, 'pause --init: exec x: Permission denied\n']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects a malformed command line with 2', () => {
    for (const args of [[], ['x', '/bin/true', 'true'], ['1', '/bin/true'], ['-1', '/bin/true', 'true']]) {
      const r = init(...args);
      expect([r.status, r.stderr]).toEqual([2, 'usage: pause --init N CANDIDATE... ARGV...\n']);
    }
  });

  it('forwards the signals it gets to its command', () => {
    // The command signals pause (its parent), which passes the TERM back to it.
    const r = init('1', '/bin/sh', 'sh', '-c', 'trap "exit 7" TERM; kill -TERM $PPID; while :; do sleep 0.05; done');
    expect(r.status).toBe(7);
  });

  it.runIf(isRoot)('as PID 1, reaps the orphans its namespace gives it (root)', () => {
    // The inner sh is orphaned at once (its subshell exits) and exits 0.1 s
    // later, a child of pause; it is waited for until gone from /proc (a
    // zombie is still there), then no zombie may be left.
    const orphan = 'o=$(sh -c "sleep 0.1; exit 0" >/dev/null & echo $!)';
    const script = `${orphan}; i=0; while [ -e /proc/$o ] && [ $i -lt 500 ]; do sleep 0.02; i=$((i+1)); done; grep -l "^State:.Z" /proc/[0-9]*/status | wc -l; exit 4`;
    const r = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', pauseBinary, '--init', '1', '/bin/sh', 'sh', '-c', script], { encoding: 'utf8' });
    expect([r.status, r.stdout.trim()]).toEqual([4, '0']);
  });
});

describe.skipIf(!isRoot)('pause as PID 1 (root)', () => {
  it('exits 0 on SIGTERM, even one sent the instant it starts (50 times)', async () => {
    for (let i = 0; i < 50; i++) {
      const p = startPause();
      p.signal('SIGTERM');
      expect(await p.exited).toEqual({ code: 0 });
    }
  });

  it('exits 0 on SIGINT', async () => {
    const p = startPause();
    p.signal('SIGINT');
    expect(await p.exited).toEqual({ code: 0 });
  });

  it('ignores other signals, holds no fd, sits in /, and has an empty environment', async () => {
    const p = startPause();
    try {
      // Wait until it sleeps: the only place it does is its wait for a signal,
      // after it has closed its fds and gone to /.
      await waitFor('pause to sleep', () => status(p.pid, 'State').startsWith('S'), 5000, 5);
      // No handler at all: it takes TERM, INT and CHLD with rt_sigtimedwait, and
      // keeps every other signal blocked (so none is ever dropped, only left pending).
      expect(status(p.pid, 'SigCgt')).toMatch(/^0+$/);
      const signals = ['HUP', 'USR1', 'QUIT', 'PIPE', 'ALRM'] as const;
      const all = signals.reduce((mask, sig) => mask | signalBit(sig), 0n);
      expect(signalMask(p.pid, 'SigBlk') & all).toBe(all);
      for (const sig of signals) p.signal(`SIG${sig}`);
      // Each is left pending, none acted on: had one not been blocked, its default action would have ended pause.
      await waitFor('the five signals pending', () => (signalMask(p.pid, 'ShdPnd') & all) === all);
      expect(isAlive(p.pid)).toBe(true);
      expect(p.running).toBe(true);
      expect(readdirSync(`/proc/${p.pid}/fd`)).toEqual([]);
      expect(readFileSync(`/proc/${p.pid}/environ`, 'utf8')).toBe('');
      expect(execFileSync('readlink', [`/proc/${p.pid}/cwd`]).toString().trim()).toBe('/');
      expect(readFileSync(`/proc/${p.pid}/status`, 'utf8')).toMatch(/^NSpid:\s+\d+\s+1$/m);
      // The figure the benchmarks track: pause's resident memory.
      // Without libc (x86_64, aarch64) it is a few pages: ~16 KiB measured.
      const rssKiB = Number(status(p.pid, 'VmRSS').split(' ')[0]);
      expect(rssKiB).toBeGreaterThan(0);
      expect(rssKiB).toBeLessThanOrEqual(libcFree ? 256 : 2048);
    } finally {
      p.signal('SIGKILL');
      await p.exited;
    }
  });
});
