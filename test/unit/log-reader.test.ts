// The log reader against the writer's rotation protocol (close, rename to
// `.N`, remove the oldest, new live file), step by step on a real directory:
// every byte once and in order, however many rotations happen between two
// reads, including of files removed after the reader opened them.
import { appendFileSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LogChain } from '../../src/runtime/log-reader.js';
import { logFiles } from '../../src/runtime/logs.js';

/** The writer's side: what ContainerLog does to the files. */
class Writer {
  private seq = 0;
  private n = 0;
  constructor(
    readonly live: string,
    private readonly maxFiles: number,
  ) {}

  line(): void {
    appendFileSync(this.live, `line ${++this.n}\n`);
  }

  rotate(): void {
    renameSync(this.live, `${this.live}.${++this.seq}`);
    const rotated = logFiles(this.live);
    for (const old of rotated.slice(0, Math.max(rotated.length - (this.maxFiles - 1), 0))) rmSync(old);
    appendFileSync(this.live, '');
  }
}

const upTo = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

/** A reader of `live`: each read returns the numbers of every line read so far. */
function follow(live: string): { read(): number[]; lost: string[]; close(): void } {
  let out = '';
  const lost: string[] = [];
  const chain = new LogChain(live, (m) => lost.push(m));
  return {
    read: () => {
      chain.read((t) => (out += t));
      return out.split('\n').filter(Boolean).map((l) => Number(l.slice(5)));
    },
    lost,
    close: () => chain.close(),
  };
}

describe('LogChain', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'peapod-log-reader-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads rotated files oldest first, then the live one, then what follows across many rotations between two reads', () => {
    const w = new Writer(join(dir, '0.log'), 1000);
    w.line();
    w.rotate();
    w.line();
    const reader = follow(w.live);
    expect(reader.read()).toEqual([1, 2]);
    for (let i = 0; i < 50; i++) {
      w.line();
      w.rotate();
    }
    w.line();
    expect(reader.read()).toEqual(upTo(53));
    reader.close();
  });

  it('keeps reading a file removed after it was opened, then goes on by name', () => {
    const w = new Writer(join(dir, '0.log'), 2);
    const reader = follow(w.live);
    w.line();
    reader.read();
    w.line();
    w.rotate();
    w.line();
    // Reads 2 from the rotated file, then opens the new live one and reads 3.
    expect(reader.read()).toEqual([1, 2, 3]);
    w.line();
    w.rotate();
    w.line();
    w.rotate();
    w.line();
    // The file holding 3 and 4 is removed now (two files kept), 4 unread: the open file still has it.
    expect(readdirSync(dir).sort()).toEqual(['0.log', '0.log.3']);
    expect(reader.read()).toEqual(upTo(6));
    expect(reader.lost).toEqual([]);
    reader.close();
  });

  it('says how many files were removed before they could be opened, and goes on from the oldest left, in order', () => {
    const w = new Writer(join(dir, '0.log'), 2);
    const reader = follow(w.live);
    w.line();
    reader.read();
    for (let i = 0; i < 5; i++) {
      w.rotate();
      w.line();
    }
    // 1 was read; the files holding 2, 3 and 4 were made and removed between the two reads.
    expect(reader.read()).toEqual([1, 5, 6]);
    expect(reader.lost).toEqual([`${w.live}: 3 rotated file(s) were removed before they could be read`]);
    reader.close();
  });
});
