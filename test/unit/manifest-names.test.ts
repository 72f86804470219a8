import { describe, expect, it } from 'vitest';
import {
  checkDns1123Label,
  checkDns1123Subdomain,
  checkEnvVarName,
  checkLabelValue,
  checkPortName,
  checkQualifiedName,
} from '../../src/manifest/names.js';
import { editDistance, suggest } from '../../src/manifest/suggest.js';

describe('DNS-1123 names', () => {
  it.each(['a', 'web', 'my-app', '123-abc', 'a'.repeat(63)])('label %j is valid', (s) => {
    expect(checkDns1123Label(s)).toBeUndefined();
  });

  it.each([
    ['My_App', 'my-app'],
    ['web.server', 'web-server'],
    ['-lead', 'lead'],
    ['trail-', 'trail'],
    ['a'.repeat(64), 'a'.repeat(63)],
  ])('label %j is invalid; try %j', (s, fix) => {
    expect(checkDns1123Label(s)).toContain(`try ${JSON.stringify(fix)}`);
  });

  it('an empty label has no suggestion', () => {
    expect(checkDns1123Label('')).toMatch(/RFC 1123 label/);
    expect(checkDns1123Label('---')).not.toContain('try');
  });

  it.each(['a', 'web.example.com', 'a-b.c-d', `${'a'.repeat(63)}.${'b'.repeat(63)}`])('subdomain %j is valid', (s) => {
    expect(checkDns1123Subdomain(s)).toBeUndefined();
  });

  it.each([
    ['Web.Example', 'web.example'],
    ['a..b', 'a.b'],
    ['under_score.io', 'under-score.io'],
  ])('subdomain %j is invalid; try %j', (s, fix) => {
    expect(checkDns1123Subdomain(s)).toContain(`try ${JSON.stringify(fix)}`);
  });

  it('subdomains are at most 253 characters', () => {
    expect(checkDns1123Subdomain('a'.repeat(253))).toBeUndefined();
    expect(checkDns1123Subdomain('a'.repeat(254))).toMatch(/no more than 253 characters \(it has 254\)/);
  });
});

describe('other names', () => {
  it.each(['PATH', '_x', 'my.var', 'a-b', '.hidden', 'X1'])('env %j is valid', (s) => {
    expect(checkEnvVarName(s)).toBeUndefined();
  });
  it.each([
    ['1ST', '_1ST'],
    ['MY VAR', 'MY_VAR'],
    ['A=B', 'A_B'],
  ])('env %j is invalid; try %j', (s, fix) => {
    expect(checkEnvVarName(s)).toContain(`try ${JSON.stringify(fix)}`);
  });

  it.each(['app', 'app.kubernetes.io/name', 'example.com/a_b.c-d', 'A1'])('qualified name %j is valid', (s) => {
    expect(checkQualifiedName(s)).toBeUndefined();
  });
  it.each(['', '-a', 'a/b/c', 'Example.com/x', 'x/', 'a'.repeat(64)])('qualified name %j is invalid', (s) => {
    expect(checkQualifiedName(s)).toBeDefined();
  });

  it.each(['', 'v1', 'a.b_c-d', 'a'.repeat(63)])('label value %j is valid', (s) => {
    expect(checkLabelValue(s)).toBeUndefined();
  });
  it.each(['has space', '-x', 'a'.repeat(64)])('label value %j is invalid', (s) => {
    expect(checkLabelValue(s)).toBeDefined();
  });

  it.each(['http', 'metrics', 'h2c', 'a-b'])('port name %j is valid', (s) => {
    expect(checkPortName(s)).toBeUndefined();
  });
  it.each([
    ['HTTP', /lower case/],
    ['8080', /at least one letter/],
    ['a--b', /consecutive/],
    ['-a', /begin or end/],
    ['abcdefghijklmnop', /15 characters/],
  ])('port name %j is invalid', (s, why) => {
    expect(checkPortName(s)).toMatch(why);
  });
});

describe('did you mean', () => {
  it.each([
    ['comand', 'command'],
    ['comamnd', 'command'],
    ['volumeMount', 'volumeMounts'],
    ['mountpath', 'mountPath'],
    ['imagePullPolicey', 'imagePullPolicy'],
    ['arg', 'args'],
    ['enviroment', undefined],
    ['tty', undefined],
    ['xyzzy', undefined],
  ])('%s -> %s', (word, expected) => {
    const fields = ['name', 'image', 'command', 'args', 'env', 'volumeMounts', 'mountPath', 'imagePullPolicy', 'stdin'];
    expect(suggest(word, fields.filter((f) => f !== word))).toBe(expected);
  });

  it('edit distance counts a transposition as one edit', () => {
    expect(editDistance('ab', 'ba')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
  });
});
