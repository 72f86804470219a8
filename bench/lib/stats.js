// Medians, extremes and ratios; and how numbers are printed.

export function median(xs) {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export function summary(xs) {
  if (xs.length === 0) return { n: 0, median: null, min: null, max: null };
  return { n: xs.length, median: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
}

/**
 * Ratios of a case to its baseline, sample by sample where both were taken
 * in the same round (interleaved), which cancels slow drifts of the machine.
 */
export function pairedRatios(a, b) {
  const out = [];
  for (const [round, x] of a) {
    const y = b.get(round);
    if (y !== undefined && y > 0) out.push(x / y);
  }
  return out;
}

export function fmtNumber(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return '-';
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 1000) return v.toFixed(0);
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

export function fmtValue(v, unit) {
  if (v === null || v === undefined) return '-';
  if (unit === 'ms' && Math.abs(v) >= 1000) return `${(v / 1000).toFixed(3)} s`;
  return unit ? `${fmtNumber(v)} ${unit}` : fmtNumber(v);
}

export function fmtRatio(r) {
  if (r === null || r === undefined) return '-';
  return r >= 100 ? `${r.toFixed(0)}x` : r >= 10 ? `${r.toFixed(1)}x` : `${r.toFixed(2)}x`;
}

export function pad(s, n) {
  s = String(s);
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

export function padLeft(s, n) {
  s = String(s);
  return s.length >= n ? s : ' '.repeat(n - s.length) + s;
}
