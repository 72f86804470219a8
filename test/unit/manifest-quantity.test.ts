import { describe, expect, it } from 'vitest';
import { bytes, compareQuantities, cpuMillis, parseQuantity, QuantityError } from '../../src/manifest/index.js';

describe('parseQuantity', () => {
  it.each([
    // text, millis (thousandths of base units), value (base units, rounded up)
    ['0', 0n, 0n],
    ['1', 1000n, 1n],
    ['100m', 100n, 1n],
    ['0.1', 100n, 1n],
    ['1.5', 1500n, 2n],
    ['.5', 500n, 1n],
    ['1.', 1000n, 1n],
    ['+2', 2000n, 2n],
    ['250m', 250n, 1n],
    ['1n', 1n, 1n], // rounded up, as Kubernetes' MilliValue() does
    ['1500u', 2n, 1n],
    ['1k', 1_000_000n, 1000n],
    ['1M', 1_000_000_000n, 1_000_000n],
    ['1G', 1_000_000_000_000n, 1_000_000_000n],
    ['64Mi', 67_108_864_000n, 67_108_864n],
    ['0.5Gi', 536_870_912_000n, 536_870_912n],
    ['1.1Mi', 1_153_433_600n, 1_153_434n],
    ['1Ki', 1_024_000n, 1024n],
    ['1Ti', 1_099_511_627_776_000n, 1_099_511_627_776n],
    ['1e3', 1_000_000n, 1000n],
    ['1E3', 1_000_000n, 1000n],
    ['1e-3', 1n, 1n],
    ['2.5e2', 250_000n, 250n],
    ['1E', 1_000_000_000_000_000_000_000n, 1_000_000_000_000_000_000n],
  ])('%s', (text, millis, value) => {
    const q = parseQuantity(text);
    expect(q.millis).toBe(millis);
    expect(q.value).toBe(value);
    expect(q.text).toBe(text);
  });

  it('is exact where floating point is not', () => {
    const q = parseQuantity('0.1');
    expect(q.numerator).toBe(1n);
    expect(q.denominator).toBe(10n);
    expect(cpuMillis('0.3')).toBe(300); // 0.1 + 0.2 would not be
  });

  it('keeps the format', () => {
    expect(parseQuantity('1Gi').format).toBe('BinarySI');
    expect(parseQuantity('1G').format).toBe('DecimalSI');
    expect(parseQuantity('1e9').format).toBe('DecimalExponent');
  });

  it('parses negatives (validation refuses them, not the parser)', () => {
    expect(parseQuantity('-1').numerator).toBe(-1n);
    expect(parseQuantity('-500m').millis).toBe(-500n);
  });

  it.each([
    ['', /must be a number/],
    ['abc', /must be a number/],
    ['1GB', /use "G" \(10\^9\) or "Gi" \(2\^30\)/],
    ['500K', /use "k" \(1000\) or "Ki" \(1024\)/],
    ['1gi', /use "Gi"/],
    ['1 Mi', /unknown suffix " Mi"/],
    ['1.2.3', /unknown suffix/],
    ['1e', /unknown suffix "e"/],
    ['1e1000', /exponent out of range/],
    ['Mi', /must be a number/],
    ['0x10', /unknown suffix "x10"/],
  ])('refuses %j', (text, message) => {
    expect(() => parseQuantity(text)).toThrow(QuantityError);
    expect(() => parseQuantity(text)).toThrow(message);
  });
});

describe('cpuMillis and bytes', () => {
  it.each([
    ['100m', 100],
    ['1', 1000],
    ['0.5', 500],
    ['2', 2000],
    ['1e-1', 100],
  ])('cpuMillis(%s) = %d', (text, n) => expect(cpuMillis(text)).toBe(n));

  it.each([
    ['64Mi', 64 * 1024 * 1024],
    ['1G', 1e9],
    ['1Gi', 2 ** 30],
    ['1e3', 1000],
    ['0.5Gi', 2 ** 29],
    ['128974848', 128974848],
    ['129e6', 129e6],
    ['123Mi', 128974848],
  ])('bytes(%s) = %d', (text, n) => expect(bytes(text)).toBe(n));

  it('takes a parsed quantity too', () => {
    expect(bytes(parseQuantity('1Ki'))).toBe(1024);
    expect(cpuMillis(parseQuantity('3'))).toBe(3000);
  });

  it('refuses values a number cannot hold exactly', () => {
    expect(() => bytes('100Ei')).toThrow(/too large/);
  });
});

describe('compareQuantities', () => {
  it.each([
    ['1', '1000m', 0],
    ['1Gi', '1G', 1],
    ['500m', '0.5', 0],
    ['1025Mi', '1Gi', 1],
    ['1e3', '1k', 0],
    ['999m', '1', -1],
  ])('%s vs %s', (a, b, sign) => {
    expect(Math.sign(compareQuantities(parseQuantity(a), parseQuantity(b)))).toBe(sign);
  });
});
