// pause on its own: PID 1 of a fresh PID namespace, started with signals
// blocked so that not even an immediate SIGTERM is lost.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { pauseBinary } from '../../src/native/addon.js';
import { sandboxPlan } from '../../src/plan/sandbox.js';
import { PlanProcess } from '../../src/runtime/process.js';
import { isRoot } from './helpers.js';

function startPause(): PlanProcess {
  return PlanProcess.spawn(sandboxPlan({ hostname: 'p', pauseBinary }), [-1, -1, -1]);
}

function status(pid: number, field: string): string {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${field}:`));
  return (line ?? '').split(':')[1]?.trim() ?? '';
}

describe('pause', () => {
  it('prints its version with -v', () => {
    expect(execFileSync(pauseBinary, ['-v']).toString()).toMatch(/^peapod-pause \d+\.\d+\.\d+\n$/);
  });

  it('is a static binary', () => {
    // A static pause needs nothing from the host's (or an image's) libraries.
    const elf = readFileSync(pauseBinary);
    expect(elf.includes(Buffer.from('/lib64/ld-linux'))).toBe(false);
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
      // Wait until it has installed its handlers (SigCgt shows TERM, INT, CHLD).
      const deadline = Date.now() + 2000;
      while (BigInt(`0x${status(p.pid, 'SigCgt') || '0'}`) === 0n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      const caught = BigInt(`0x${status(p.pid, 'SigCgt')}`);
      const bit = (sig: number): bigint => 1n << BigInt(sig - 1);
      expect(caught & bit(15)).not.toBe(0n);
      expect(caught & bit(2)).not.toBe(0n);
      expect(caught & bit(17)).not.toBe(0n);
      for (const sig of ['SIGHUP', 'SIGUSR1', 'SIGQUIT', 'SIGPIPE', 'SIGALRM'] as const) p.signal(sig);
      await new Promise((r) => setTimeout(r, 100));
      expect(p.running).toBe(true);
      expect(readdirSync(`/proc/${p.pid}/fd`)).toEqual([]);
      expect(readFileSync(`/proc/${p.pid}/environ`, 'utf8')).toBe('');
      expect(execFileSync('readlink', [`/proc/${p.pid}/cwd`]).toString().trim()).toBe('/');
      expect(readFileSync(`/proc/${p.pid}/status`, 'utf8')).toMatch(/^NSpid:\s+\d+\s+1$/m);
      // The figure the benchmarks track: pause's resident memory.
      const rssKiB = Number(status(p.pid, 'VmRSS').split(' ')[0]);
      expect(rssKiB).toBeGreaterThan(0);
      expect(rssKiB).toBeLessThan(2048);
    } finally {
      p.signal('SIGKILL');
      await p.exited;
    }
  });
});
