// `peapod inspect NAME -o html`: one self-contained file (no script, no
// link to anything): the figure, what it shows, and the inspect table.
import type { PodInspection } from '../node/inspect.js';
import { podSvg } from './svg.js';
import { escapeXml } from './text.js';

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#111827}
h1{font-size:20px;margin:0 0 4px}p{margin:4px 0 12px;color:#4b5563}
figure{margin:0;overflow:auto;border:1px solid #e5e7eb;border-radius:6px}
pre{font:12px/1.4 'DejaVu Sans Mono',Menlo,Consolas,monospace;background:#f9fafb;padding:12px;overflow:auto}`;

/** The page: the figure first, then (when given) the inspect table under it. */
export function podHtml(v: PodInspection, table?: string): string {
  const name = escapeXml(v.metadata.name);
  const parts = [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>pod/${name}</title>`,
    `<style>${STYLE}</style></head><body>`,
    `<h1>pod/${name}</h1>`,
    `<p>${escapeXml(v.phase)} · read from /proc by peapod (pid ${v.host.pid}) · hover a box for its details</p>`,
    `<figure>${podSvg(v)}</figure>`,
    ...(table ? [`<h2>peapod inspect ${name}</h2>`, `<pre>${escapeXml(table)}</pre>`] : []),
    '</body></html>',
  ];
  return `${parts.join('\n')}\n`;
}
