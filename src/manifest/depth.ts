// A cheap look at how deeply a text nests, before the YAML parser sees it.
// The parser recurses per level: near 800 levels it overflows the stack, and
// a second such parse in the same process was seen to abort Node (V8 out of
// memory compiling a RegExp), which no try/catch can stop. So refuse deep
// input up front. The estimate errs high (it counts block indentation steps,
// compact "- - " items and open flow brackets); no pod comes near the limit.

export const MAX_NESTING = 200;

export function tooDeep(text: string): { offset: number; depth: number } | undefined {
  const indents: number[] = [];
  let flow = 0;
  let quote: '"' | "'" | undefined;
  let blockScalar: number | undefined; // indentation of the line that opened a `|` or `>` scalar
  let base = 0; // block depth of the latest line outside flow collections and quotes
  let offset = 0;
  for (const line of text.split('\n')) {
    const start = offset;
    offset += line.length + 1;
    const indent = /^ */.exec(line)?.[0].length ?? 0;
    const blank = /^\s*(#.*)?\r?$/.test(line);
    if (blockScalar !== undefined) {
      if (blank || indent > blockScalar) continue;
      blockScalar = undefined;
    }
    if (!quote && flow === 0 && !blank) {
      while (indents.length > 0 && (indents[indents.length - 1] ?? 0) >= indent) indents.pop();
      indents.push(indent);
      const compact = /^(\s*[-?](\s+|$))+/.exec(line)?.[0].match(/[-?]/g)?.length ?? 0;
      base = indents.length + compact;
    }
    let deepest = base + flow;
    let prev = ' ';
    for (let i = 0; i < line.length; i++) {
      const c = line[i] ?? '';
      if (quote) {
        if (c === '\\' && quote === '"') i++;
        else if (c === quote) {
          if (quote === "'" && line[i + 1] === "'") i++;
          else quote = undefined;
        }
      } else if (c === '#' && /\s/.test(prev)) {
        break;
      } else if ((c === '"' || c === "'") && /[\s[{,:]/.test(prev)) {
        quote = c;
      } else if (c === '[' || c === '{') {
        flow++;
        deepest = Math.max(deepest, base + flow);
      } else if ((c === ']' || c === '}') && flow > 0) {
        flow--;
      }
      prev = c;
    }
    if (deepest > MAX_NESTING) return { offset: start, depth: deepest };
    if (!quote && flow === 0 && /(^|\s|:)[|>][-+0-9]*\s*(#.*)?\r?$/.test(line)) blockScalar = indent;
  }
  return undefined;
}
