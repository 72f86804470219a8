// The supervisor's files on a real directory: a write that fails leaves the
// file as it was and is retried (said once), and a file changed under the
// writer is written again from memory.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RETRY_MS, StateWriter } from '../../src/node/state-writer.js';

async function waitFor(what: string, test: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('StateWriter', () => {
  let dir: string;
  let writer: StateWriter;
  const failed: string[] = [];
  const repaired: string[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'peapod-state-writer-'));
    failed.length = 0;
    repaired.length = 0;
    writer = new StateWriter({ onWriteFailed: (p, e) => failed.push(`${p}: ${(e as NodeJS.ErrnoException).code}`), onRepaired: (p, why) => repaired.push(`${p}: ${why}`) });
  });
  afterEach(() => {
    writer.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('never throws on a failed write: keeps the value, says so once, and writes it when it can', async () => {
    // The file's directory cannot be made: a file is in its way.
    const blocked = join(dir, 'pod');
    writeFileSync(blocked, '');
    const file = join(blocked, 'pod.json');
    writer.set(file, { phase: 'Running' });
    writer.flush();
    writer.set(file, { phase: 'Terminating' });
    // Failing, nothing is written until the retry: no busy loop on a full disk.
    await new Promise((r) => setTimeout(r, 50));
    expect(failed).toEqual([`${file}: EEXIST`]);
    rmSync(blocked);
    mkdirSync(blocked);
    expect(readdirSync(blocked)).toEqual([]);
    await waitFor('the retry', () => readdirSync(blocked).includes('pod.json'), RETRY_MS * 3);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ phase: 'Terminating' });
    // No temporary file was left by the failures.
    expect(readdirSync(blocked)).toEqual(['pod.json']);
  });

  it('writes again, from memory, a file emptied or overwritten under it', async () => {
    const file = join(dir, 'runtime.json');
    writer.set(file, { pid: 1 });
    writer.flush();
    const written = readFileSync(file, 'utf8');
    writer.watch(dir);
    writeFileSync(file, 'garbage{');
    await waitFor('the repair', () => readFileSync(file, 'utf8') === written);
    writeFileSync(file, '');
    await waitFor('the second repair', () => readFileSync(file, 'utf8') === written);
    expect(repaired).toEqual([`${file}: overwritten, unreadable`, `${file}: emptied or removed, unreadable`]);
  });
});
