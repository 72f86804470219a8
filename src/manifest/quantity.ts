// Kubernetes resource quantities (k8s.io/apimachinery/pkg/api/resource),
// parsed exactly: "0.1" cpu is 100 millicores, not 100.00000000000001.
//
//   quantity  ::= sign? digits suffix
//   digits    ::= [0-9]+ ( "." [0-9]* )? | "." [0-9]+
//   suffix    ::= Ki | Mi | Gi | Ti | Pi | Ei          (powers of 1024)
//               | n | u | m | "" | k | M | G | T | P | E   (powers of 1000)
//               | (e|E) sign? [0-9]+                  (powers of ten)

export type QuantityFormat = 'DecimalSI' | 'BinarySI' | 'DecimalExponent';

export interface Quantity {
  /** The text as written in the manifest. */
  text: string;
  /** Exact value in base units (cores, bytes) is numerator / denominator; denominator is a power of ten. */
  numerator: bigint;
  denominator: bigint;
  /** Base units, rounded up (Kubernetes' Quantity.Value()): bytes for memory. */
  value: bigint;
  /** Thousandths of base units, rounded up (Kubernetes' MilliValue()): millicores for cpu. */
  millis: bigint;
  format: QuantityFormat;
}

const BINARY: Record<string, bigint> = { Ki: 10n, Mi: 20n, Gi: 30n, Ti: 40n, Pi: 50n, Ei: 60n };
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
// Bounds the size of the bigints a manifest can make us build.
const MAX_EXPONENT = 100;
const MAX_DIGITS = 100;

// Suffixes people write by habit, and what they probably meant.
const HABITS: Record<string, string> = {
  K: '"k" (1000) or "Ki" (1024)',
  KB: '"k" (1000) or "Ki" (1024)',
  kb: '"k" (1000) or "Ki" (1024)',
  kB: '"k" (1000) or "Ki" (1024)',
  KiB: '"Ki"',
  MB: '"M" (10^6) or "Mi" (2^20)',
  mb: '"M" (10^6) or "Mi" (2^20)',
  mi: '"Mi"',
  MiB: '"Mi"',
  GB: '"G" (10^9) or "Gi" (2^30)',
  gb: '"G" (10^9) or "Gi" (2^30)',
  g: '"G" (10^9) or "Gi" (2^30)',
  gi: '"Gi"',
  GiB: '"Gi"',
  TB: '"T" (10^12) or "Ti" (2^40)',
  TiB: '"Ti"',
  ki: '"Ki"',
  mcpu: '"m" (millicores)',
};

export class QuantityError extends RangeError {
  override name = 'QuantityError';
}

function ceilDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b > 0n ? q + 1n : q;
}

/** Parse a Kubernetes quantity; throws QuantityError saying what is wrong and what would be right. */
export function parseQuantity(text: string): Quantity {
  const m = /^([+-]?)([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(.*)$/.exec(text);
  if (!m) {
    throw new QuantityError(
      `invalid quantity ${JSON.stringify(text)}: must be a number with an optional suffix, e.g. "500m", "2", "1.5", "64Mi", "1G"`,
    );
  }
  const [, sign = '', digits = '', suffix = ''] = m;
  const [intPart = '', fracPart = ''] = digits.split('.');
  if (intPart.length + fracPart.length > MAX_DIGITS) {
    throw new QuantityError(`invalid quantity ${JSON.stringify(text)}: too many digits`);
  }
  let mantissa = BigInt((intPart + fracPart) || '0');
  if (sign === '-') mantissa = -mantissa;
  let scale = fracPart.length; // value = mantissa * 10^-scale * multiplier
  let numerator: bigint;
  let format: QuantityFormat;
  const binary = BINARY[suffix];
  const decimal = DECIMAL[suffix];
  const exp = /^[eE]([+-]?[0-9]+)$/.exec(suffix);
  if (binary !== undefined) {
    numerator = mantissa << binary;
    format = 'BinarySI';
  } else if (decimal !== undefined || exp) {
    const e = decimal ?? Number(exp?.[1]);
    if (Math.abs(e) > MAX_EXPONENT) {
      throw new QuantityError(`invalid quantity ${JSON.stringify(text)}: exponent out of range (at most ${MAX_EXPONENT})`);
    }
    numerator = e >= 0 ? mantissa * 10n ** BigInt(e) : mantissa;
    if (e < 0) scale -= e;
    format = exp ? 'DecimalExponent' : 'DecimalSI';
  } else {
    const habit = HABITS[suffix];
    const hint = habit
      ? `; use ${habit}`
      : '; suffixes are n u m k M G T P E (powers of 1000), Ki Mi Gi Ti Pi Ei (powers of 1024) or e<N>';
    throw new QuantityError(`invalid quantity ${JSON.stringify(text)}: unknown suffix ${JSON.stringify(suffix)}${hint}`);
  }
  const denominator = 10n ** BigInt(scale);
  return {
    text,
    numerator,
    denominator,
    value: ceilDiv(numerator, denominator),
    millis: ceilDiv(numerator * 1000n, denominator),
    format,
  };
}

/** Negative, zero or positive as a < b, a = b, a > b. */
export function compareQuantities(a: Quantity, b: Quantity): number {
  const l = a.numerator * b.denominator;
  const r = b.numerator * a.denominator;
  return l < r ? -1 : l > r ? 1 : 0;
}

function toSafeNumber(v: bigint, what: string, text: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new QuantityError(`quantity ${JSON.stringify(text)} is too large to count in ${what}`);
  }
  return Number(v);
}

/** Millicores of a cpu quantity, rounded up ("0.1" -> 100, "1" -> 1000, "250m" -> 250). */
export function cpuMillis(q: Quantity | string): number {
  const p = typeof q === 'string' ? parseQuantity(q) : q;
  return toSafeNumber(p.millis, 'millicores', p.text);
}

/** Bytes of a memory quantity, rounded up ("64Mi" -> 67108864, "1G" -> 1e9). */
export function bytes(q: Quantity | string): number {
  const p = typeof q === 'string' ? parseQuantity(q) : q;
  return toSafeNumber(p.value, 'bytes', p.text);
}
