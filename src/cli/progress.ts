// A pull's progress as podman shows it: on a terminal, one line per layer
// redrawn in place with a bar; otherwise (a pipe, a log) a plain line each
// time a layer changes state.
import type { PullProgress } from '../image/pull.js';

const short = (digest: string): string => digest.replace(/^sha256:/, '').slice(0, 12);

export function bytes(n: number): string {
  if (n < 1000) return `${n}B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1000;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0)}${units[u]}`;
}

const WORDS: Record<PullProgress['state'], string> = {
  waiting: 'Waiting',
  exists: 'Already exists',
  downloading: 'Downloading',
  extracting: 'Extracting',
  done: 'Pull complete',
};

function bar(done: number, size: number, width = 30): string {
  const filled = size > 0 ? Math.min(width, Math.floor((done / size) * width)) : width;
  return `[${'='.repeat(Math.max(filled - 1, 0))}${filled > 0 && filled < width ? '>' : filled === width ? '=' : ''}${' '.repeat(width - filled)}]`;
}

export interface ProgressView {
  update(p: PullProgress): void;
  end(): void;
}

export function progressView(out: NodeJS.WriteStream): ProgressView {
  const layers = new Map<string, PullProgress>();
  if (!out.isTTY) {
    const said = new Map<string, string>();
    return {
      update(p) {
        if (said.get(p.layer) === p.state) return;
        said.set(p.layer, p.state);
        out.write(`${short(p.layer)}: ${WORDS[p.state]}${p.state === 'downloading' ? ` ${bytes(p.size)}` : ''}\n`);
      },
      end() {},
    };
  }
  let drawn = 0;
  let last = 0;
  const draw = (): void => {
    const lines = [...layers.values()]
      .sort((a, b) => a.index - b.index)
      .map((p) => `${short(p.layer)}: ${WORDS[p.state].padEnd(14)}${p.state === 'downloading' ? ` ${bar(p.done, p.size)} ${bytes(p.done)}/${bytes(p.size)}` : ''}`);
    out.write(`${drawn > 0 ? `\x1b[${drawn}A` : ''}${lines.map((l) => `\x1b[2K${l}\n`).join('')}`);
    drawn = lines.length;
  };
  return {
    update(p) {
      layers.set(p.layer, p);
      // At most ten redraws a second while bytes arrive; every change of state at once.
      const now = Date.now();
      if (p.state === 'downloading' && now - last < 100) return;
      last = now;
      draw();
    },
    end() {
      if (layers.size > 0) draw();
    },
  };
}
