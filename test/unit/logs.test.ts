import { describe, expect, it } from 'vitest';
import { criRecord, LineSplitter, rfc3339Nano } from '../../src/runtime/logs.js';

describe('CRI log format', () => {
  it('writes <RFC3339Nano> <stream> <P|F> <line>', () => {
    expect(criRecord('stdout', false, 'hello', '2026-01-02T03:04:05.123456789Z')).toBe('2026-01-02T03:04:05.123456789Z stdout F hello\n');
    expect(criRecord('stderr', true, 'part', 't')).toBe('t stderr P part\n');
  });
  it('has nanosecond precision', () => {
    expect(rfc3339Nano(Date.UTC(2026, 0, 2, 3, 4, 5, 123), 456789)).toBe('2026-01-02T03:04:05.123456789Z');
  });
  it('splits chunks into lines, keeps partial input until its newline, and splits long lines P..P F', () => {
    const out: Array<[string, boolean]> = [];
    const s = new LineSplitter((line, partial) => out.push([line, partial]));
    s.push('a\nb');
    s.push('c\n');
    s.push('x'.repeat(16 * 1024 + 5));
    s.push('\n');
    s.push('tail');
    s.end();
    expect(out.map(([l, p]) => [l.length > 10 ? l.length : l, p])).toEqual([
      ['a', false], ['bc', false], [16 * 1024, true], ['xxxxx', false], ['tail', false],
    ]);
  });
});
