// The pull's progress as a person sees it: a bar per layer redrawn in
// place on a terminal, plain lines in a pipe.
import { describe, expect, it } from 'vitest';
import { progressView } from '../../src/cli/progress.js';

function sink(isTTY: boolean): { out: NodeJS.WriteStream; text: () => string } {
  let text = '';
  const out = { isTTY, write: (s: string) => ((text += s), true) } as unknown as NodeJS.WriteStream;
  return { out, text: () => text };
}

const layer = (state: 'downloading' | 'done' | 'exists', done: number, index = 0) => ({ layer: `sha256:${String(index).repeat(64)}`, index, count: 2, state, done, size: 2_000_000 });

describe('pull progress', () => {
  it('on a terminal: one line per layer with a bar, redrawn in place', () => {
    const s = sink(true);
    const view = progressView(s.out);
    view.update(layer('exists', 2_000_000, 1));
    view.update(layer('downloading', 1_000_000));
    view.end();
    const last = s.text().split(/\x1b\[\dA/).pop() ?? '';
    expect(last).toBe('\x1b[2K000000000000: Downloading    [==============>               ] 1.00MB/2.00MB\n\x1b[2K111111111111: Already exists\n');
  });

  it('in a pipe: a line for each change of state, none for the bytes between', () => {
    const s = sink(false);
    const view = progressView(s.out);
    view.update(layer('downloading', 10));
    view.update(layer('downloading', 20));
    view.update(layer('done', 2_000_000));
    expect(s.text()).toBe('000000000000: Downloading 2.00MB\n000000000000: Pull complete\n');
  });
});
