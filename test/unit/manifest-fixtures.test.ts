// Every manifest under test/fixtures/manifests, checked against its .expected
// file (format in test/fixtures/manifests/README.md).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ManifestError, readPodFile, type SpecIssue } from '../../src/manifest/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'manifests');

interface Expected {
  severity: 'error' | 'warning';
  line: number;
  column: number;
  path: string;
  fragment: string;
  text: string;
}

function manifests(dir: string): string[] {
  return readdirSync(join(root, dir))
    .filter((f) => /\.(ya?ml|json)$/.test(f))
    .sort();
}

function expectations(file: string): Expected[] {
  const exp = file.replace(/\.(ya?ml|json)$/, '.expected');
  if (!existsSync(exp)) return [];
  return readFileSync(exp, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'))
    .map((text) => {
      const m = /^(warning )?(\d+):(\d+) (\S+): (.*)$/.exec(text);
      if (!m) throw new Error(`${exp}: bad line ${JSON.stringify(text)}`);
      return {
        severity: m[1] ? 'warning' : 'error',
        line: Number(m[2]),
        column: Number(m[3]),
        path: m[4] === '-' ? '' : (m[4] ?? ''),
        fragment: m[5] ?? '',
        text,
      };
    });
}

function show(i: SpecIssue): string {
  return `${i.severity === 'warning' ? 'warning ' : ''}${i.position?.line}:${i.position?.column} ${i.path || '-'}: ${i.message}`;
}

function assertIssues(actual: SpecIssue[], expected: Expected[], severity: 'error' | 'warning'): void {
  const got = actual.filter((i) => i.severity === severity);
  const want = expected.filter((e) => e.severity === severity);
  for (const e of want) {
    const hit = got.find(
      (i) =>
        i.position?.line === e.line &&
        i.position.column === e.column &&
        i.path === e.path &&
        i.message.includes(e.fragment),
    );
    expect(hit, `expected: ${e.text}\nactual:\n${got.map(show).join('\n')}`).toBeDefined();
  }
  expect(got.map(show), 'no other issues').toHaveLength(want.length);
}

const bad = manifests('bad');

describe('bad manifests', () => {
  it('has at least 40 of them, each with an .expected file', () => {
    expect(bad.length).toBeGreaterThanOrEqual(40);
    for (const f of bad) expect(existsSync(join(root, 'bad', f.replace(/\.(ya?ml|json)$/, '.expected'))), f).toBe(true);
  });

  it.each(bad)('%s', (name) => {
    const file = join(root, 'bad', name);
    const expected = expectations(file);
    let error: unknown;
    try {
      readPodFile(file);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ManifestError);
    const me = error as ManifestError;
    assertIssues(me.issues, expected, 'error');
    assertIssues(me.issues, expected, 'warning');
    // The message is the errors, one per line, FILE:LINE:COL: PATH: message.
    const lines = me.message.split('\n');
    expect(lines).toHaveLength(me.errors.length);
    me.errors.forEach((i, n) => {
      const where = `${file}:${i.position?.line}:${i.position?.column}: `;
      expect(lines[n]).toBe(`${where}${i.path ? `${i.path}: ` : ''}${i.message}`);
    });
  });
});

const good = manifests('good');

describe('good manifests', () => {
  it.each(good)('%s reads, with exactly the expected warnings', (name) => {
    const file = join(root, 'good', name);
    const { pods, warnings } = readPodFile(file);
    expect(pods.length).toBeGreaterThan(0);
    assertIssues(warnings, expectations(file), 'warning');
    assertIssues(warnings, expectations(file), 'error');
    // What the reader returns is plain data, as the types say.
    expect(JSON.parse(JSON.stringify(pods))).toEqual(pods);
  });

  it.each(good)('%s with strict: warnings become errors, nothing else changes', (name) => {
    const file = join(root, 'good', name);
    const { warnings } = readPodFile(file);
    if (warnings.length === 0) {
      expect(readPodFile(file, { strict: true }).warnings).toEqual([]);
      return;
    }
    try {
      readPodFile(file, { strict: true });
      expect.unreachable('strict mode must refuse');
    } catch (e) {
      expect(e).toBeInstanceOf(ManifestError);
      const errors = (e as ManifestError).errors;
      expect(errors.map((i) => [i.path, i.position])).toEqual(warnings.map((i) => [i.path, i.position]));
      for (const i of errors) expect(i.message).toContain('(refused in strict mode)');
    }
  });
});

function read(name: string) {
  return readPodFile(join(root, 'good', name));
}

describe('what good manifests read as', () => {
  it('the seed two-container pod, exactly', () => {
    expect(read('two-containers.yaml').pods).toEqual([
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'two-containers', namespace: 'default' },
        spec: {
          restartPolicy: 'Never',
          volumes: [{ name: 'shared-data', hostPath: { path: '/data' } }],
          containers: [
            {
              name: 'nginx-container',
              image: 'nginx',
              volumeMounts: [{ name: 'shared-data', mountPath: '/usr/share/nginx/html' }],
            },
            {
              name: 'debian-container',
              image: 'debian',
              volumeMounts: [{ name: 'shared-data', mountPath: '/pod-data' }],
              command: ['/bin/sh'],
              args: ['-c', 'echo Hello from the debian container > /pod-data/index.html'],
            },
          ],
        },
      },
    ]);
  });

  it('every supported field, with quantities kept as written', () => {
    const [pod] = read('every-field.yaml').pods;
    expect(pod?.metadata).toEqual({
      name: 'web.example',
      namespace: 'team-a',
      uid: '3f1c0a5e-0000-4000-8000-000000000001',
      labels: { 'app.kubernetes.io/name': 'web', tier: '' },
      annotations: { 'example.com/note': 'free text: anything goes' },
    });
    const spec = pod?.spec;
    expect(spec?.terminationGracePeriodSeconds).toBe(5);
    expect(spec?.activeDeadlineSeconds).toBe(3600);
    expect(spec?.shareProcessNamespace).toBe(false);
    expect(spec?.securityContext).toEqual({
      runAsUser: 1000,
      runAsGroup: 3000,
      runAsNonRoot: true,
      supplementalGroups: [4000, 4001],
      fsGroup: 2000,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(spec?.containers[1]?.securityContext).toEqual({ seccompProfile: { type: 'Localhost', localhostProfile: 'profiles/sidecar.json' } });
    expect(spec?.volumes?.[0]).toEqual({ name: 'scratch', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } });
    expect(spec?.initContainers?.[0]?.command).toEqual(['sh', '-c', 'echo ready > /scratch/ready']);
    const web = spec?.containers[0];
    expect(web?.env).toEqual([
      { name: 'GREETING', value: 'hello' },
      { name: 'EMPTY' },
      { name: 'my.dotted-name', value: '' },
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'APP_LABEL', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: "metadata.labels['app.kubernetes.io/name']" } } },
    ]);
    expect(web?.lifecycle).toEqual({
      postStart: { httpGet: { port: 'http', path: '/ready', scheme: 'HTTP', httpHeaders: [{ name: 'X-Peapod', value: 'hook' }] } },
      preStop: { exec: { command: ['sh', '-c', 'kill -QUIT 1'] } },
    });
    expect(spec?.containers[1]?.lifecycle).toEqual({ preStop: { sleep: { seconds: 5 } } });
    expect(web?.startupProbe).toEqual({
      httpGet: { port: 'http', path: '/healthz', scheme: 'HTTP', host: '127.0.0.1', httpHeaders: [{ name: 'X-Probe', value: 'startup' }] },
      periodSeconds: 1,
      failureThreshold: 30,
    });
    expect(web?.livenessProbe).toEqual({
      tcpSocket: { port: 8080 },
      initialDelaySeconds: 5,
      timeoutSeconds: 2,
      periodSeconds: 10,
      successThreshold: 1,
      failureThreshold: 3,
      terminationGracePeriodSeconds: 3,
    });
    expect(web?.readinessProbe).toEqual({ grpc: { port: 9090, service: 'web' }, successThreshold: 2 });
    expect(web?.ports?.[2]).toEqual({ containerPort: 9090, hostPort: 19090, hostIP: '127.0.0.1' });
    expect(web?.resources).toEqual({ requests: { cpu: '100m', memory: '32Mi' }, limits: { cpu: '0.5', memory: '64Mi' } });
    expect(web?.stdin).toBe(true);
    expect(spec?.containers[1]?.resources?.limits).toEqual({ cpu: '1e-1', memory: '1e8' });
  });

  it('the pod\'s supplementalGroups, and Bidirectional propagation for privileged containers', () => {
    const [pod] = read('security-context.yaml').pods;
    expect(pod?.spec.securityContext).toEqual({ runAsGroup: 3000, supplementalGroups: [0, 4000, 2147483647, 4000] });
    const mounts = [...(pod?.spec.initContainers ?? []), ...(pod?.spec.containers ?? [])].map((c) => [
      c.name,
      c.securityContext?.privileged,
      c.volumeMounts?.[0]?.mountPropagation,
    ]);
    expect(mounts).toEqual([
      ['prepare', true, 'Bidirectional'],
      ['mounter', true, 'Bidirectional'],
      ['watcher', false, 'HostToContainer'],
    ]);
  });

  it('a List, with namespaces defaulted only where missing', () => {
    const pods = read('list.yaml').pods;
    expect(pods.map((p) => [p.metadata.namespace, p.metadata.name])).toEqual([
      ['default', 'first'],
      ['other', 'second'],
    ]);
  });

  it('several documents, skipping empty ones', () => {
    const pods = read('multi-doc.yaml').pods;
    expect(pods.map((p) => `${p.metadata.namespace}/${p.metadata.name}`)).toEqual([
      'default/one',
      'default/two',
      'elsewhere/one',
    ]);
  });

  it('JSON, with a numeric quantity turned into its string', () => {
    const [pod] = read('pod.json').pods;
    expect(pod?.spec.containers[0]?.resources?.limits).toEqual({ cpu: '2', memory: '1Gi' });
  });

  it('anchors, aliases and merge keys', () => {
    const [pod] = read('anchors.yaml').pods;
    expect(pod?.metadata.annotations).toEqual({ app: 'anchors' });
    expect(pod?.spec.containers[1]).toEqual({
      name: 'second',
      image: 'busybox',
      command: ['sleep', '60'],
      env: [{ name: 'MODE', value: 'on' }],
    });
  });

  it('kubectl output: unimplemented fields are dropped from the result', () => {
    const [pod] = read('kubectl-get-output.yaml').pods;
    expect(Object.keys(pod ?? {})).toEqual(['apiVersion', 'kind', 'metadata', 'spec']);
    expect(Object.keys(pod?.spec ?? {})).not.toContain('nodeName');
    expect(pod?.spec.containers[0]?.resources).toEqual({});
  });
});
