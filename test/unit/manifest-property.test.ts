// Random damage to a valid manifest: the reader either returns pods that keep
// the promises of the validator, or throws a ManifestError whose every issue
// points inside the text. Never anything else.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { cpuMillis, ManifestError, type Pod, readPods } from '../../src/manifest/index.js';

// PEAPOD_FUZZ_RUNS=20000 npx vitest run test/unit/spec-property for a longer hunt.
const RUNS = Number(process.env.PEAPOD_FUZZ_RUNS) || 250;
const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'manifests', 'good');
const base: unknown = parse(readFileSync(join(fixtures, 'every-field.yaml'), 'utf8'));

type Path = (string | number)[];

function allPaths(v: unknown, at: Path = []): Path[] {
  const here = at.length > 0 ? [at] : [];
  if (Array.isArray(v)) return [...here, ...v.flatMap((x, i) => allPaths(x, [...at, i]))];
  if (v && typeof v === 'object') return [...here, ...Object.entries(v).flatMap(([k, x]) => allPaths(x, [...at, k]))];
  return here;
}

const PATHS = allPaths(base);

function mutate(root: unknown, path: Path, op: 'set' | 'delete' | 'rename', value: unknown): void {
  let parent = root as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) {
    const next = parent[key];
    if (!next || typeof next !== 'object') return;
    parent = next as Record<string | number, unknown>;
  }
  const last = path[path.length - 1];
  if (last === undefined || !(last in parent)) return;
  if (op === 'set') parent[last] = value;
  else if (Array.isArray(parent) && typeof last === 'number') parent.splice(last, 1);
  else if (op === 'delete') delete parent[last];
  else {
    // A misspelt key: the value moves under a near name.
    parent[`${String(last)}x`] = parent[last];
    delete parent[last];
  }
}

// Values a careless hand or a fuzzer would put anywhere, plus ones that look right.
const scalar = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom('', 'Always', 'Never', 'TCP', 'Memory', '64Mi', '1e3', '100m', '-1', '/abs', 'rel/path', 'a b', 'yes', '0x10', '..', 'A'),
);
const value = fc.letrec((tie) => ({
  any: fc.oneof({ depthSize: 'small' }, scalar, tie('list'), tie('map')),
  list: fc.array(tie('any'), { maxLength: 3 }),
  map: fc.dictionary(fc.constantFrom('name', 'image', 'path', 'cpu', 'x', 'emptyDir', 'containerPort'), tie('any'), {
    maxKeys: 3,
  }),
})).any;

const mutation = fc.record({
  path: fc.constantFrom(...PATHS),
  op: fc.constantFrom('set', 'set', 'delete', 'rename') as fc.Arbitrary<'set' | 'delete' | 'rename'>,
  value,
});

function checkOutcome(text: string): void {
  let pods: Pod[];
  try {
    pods = readPods(text, 'fuzz.yaml').pods;
  } catch (e) {
    expect(e).toBeInstanceOf(ManifestError);
    const me = e as ManifestError;
    expect(me.errors.length).toBeGreaterThan(0);
    const lines = text.split('\n').length;
    for (const i of me.issues) {
      expect(i.message).not.toBe('');
      expect(i.message).not.toMatch(/cannot read the manifest/); // the catch-all for bugs
      if (i.position) {
        expect(i.position.line).toBeGreaterThanOrEqual(1);
        expect(i.position.line).toBeLessThanOrEqual(lines);
      }
    }
    return;
  }
  // What the validator promises to everything downstream.
  for (const pod of pods) {
    expect(pod.metadata.name).toMatch(/^[a-z0-9]/);
    expect(pod.spec.containers.length).toBeGreaterThan(0);
    const all = [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
    expect(new Set(all.map((c) => c.name)).size).toBe(all.length);
    const volumes = new Set((pod.spec.volumes ?? []).map((v) => v.name));
    for (const gid of pod.spec.securityContext?.supplementalGroups ?? []) {
      expect(Number.isInteger(gid) && gid >= 0 && gid <= 2147483647).toBe(true);
    }
    for (const c of all) {
      expect(typeof c.image).toBe('string');
      for (const m of c.volumeMounts ?? []) {
        expect(volumes.has(m.name)).toBe(true);
        expect(m.mountPath.startsWith('/')).toBe(true);
        if (m.mountPropagation === 'Bidirectional') expect(c.securityContext?.privileged).toBe(true);
      }
      for (const q of Object.values(c.resources?.limits ?? {})) expect(() => cpuMillis(q)).not.toThrow();
    }
  }
}

describe('readPods on random damage', () => {
  it('random values in random fields, as YAML and as JSON', () => {
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.boolean(), (mutations, json) => {
        const doc = structuredClone(base);
        for (const m of mutations) mutate(doc, m.path, m.op, m.value);
        checkOutcome(json ? JSON.stringify(doc, null, 2) : stringify(doc));
      }),
      { numRuns: RUNS },
    );
  });

  it('random edits of the text itself', () => {
    const text = readFileSync(join(fixtures, 'every-field.yaml'), 'utf8');
    fc.assert(
      fc.property(fc.nat(text.length), fc.nat(8), fc.string({ maxLength: 6 }), (at, cut, insert) => {
        checkOutcome(text.slice(0, at) + insert + text.slice(at + cut));
      }),
      { numRuns: RUNS },
    );
  });

  it('arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => checkOutcome(text)),
      { numRuns: RUNS },
    );
  });
});
