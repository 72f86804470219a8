// The reader's contract: what it returns, what it throws, and how it says so.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatIssue, ManifestError, NOT_IMPLEMENTED, readPodFile, readPods } from '../../src/manifest/index.js';
import { SCHEMA } from '../../src/manifest/schema.js';

function pod(spec: string, extra = ''): string {
  return `apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n${extra}spec:\n${spec}`;
}

const ONE = '  containers:\n  - name: app\n    image: busybox\n';

function errorOf(text: string, opts = {}): ManifestError {
  try {
    readPods(text, 'pod.yaml', opts);
  } catch (e) {
    if (e instanceof ManifestError) return e;
    throw e;
  }
  throw new Error('expected a ManifestError');
}

describe('readPods', () => {
  it('formats errors as FILE:LINE:COL: PATH: message', () => {
    const e = errorOf(pod('  containers:\n  - name: app\n    image: busybox\n    comand: [sh]\n'));
    expect(e.message).toBe('pod.yaml:9:5: spec.containers[0].comand: unknown field; did you mean "command"?');
    expect(e.name).toBe('ManifestError');
    expect(e.issues).toEqual([
      {
        path: 'spec.containers[0].comand',
        message: 'unknown field; did you mean "command"?',
        severity: 'error',
        position: { file: 'pod.yaml', line: 9, column: 5 },
      },
    ]);
  });

  it('reports every error at once, sorted by position across documents', () => {
    const text = [
      pod('  restartPolicy: Nope\n  containers:\n  - name: A\n    image: x\n'),
      '---',
      pod('  containers: {}\n').replace('name: p', 'name: q'),
    ].join('\n');
    const lines = errorOf(text).message.split('\n');
    expect(lines).toEqual([
      expect.stringMatching(/^pod\.yaml:6:18: spec\.restartPolicy: /),
      expect.stringMatching(/^pod\.yaml:8:11: spec\.containers\[0\]\.name: invalid name "A"/),
      expect.stringMatching(/^pod\.yaml:17:15: spec\.containers: expected list, got map/),
    ]);
  });

  it('returns warnings sorted, and leaves them out of error messages', () => {
    const text = pod(`  hostUsers: false\n${ONE}`, '  generateName: p-\n');
    const { pods, warnings } = readPods(text, 'pod.yaml');
    expect(pods).toHaveLength(1);
    expect(warnings.map((w) => [w.path, w.position?.line])).toEqual([
      ['metadata.generateName', 5],
      ['spec.hostUsers', 7],
    ]);
    const e = errorOf(`${text}    comand: [x]\n`);
    expect(e.message.split('\n')).toHaveLength(1);
    expect(e.issues.filter((i) => i.severity === 'warning')).toHaveLength(2);
  });

  it('strict mode refuses what would be ignored', () => {
    const e = errorOf(pod(`  nodeSelector: {a: b}\n${ONE}`), { strict: true });
    expect(e.message).toBe(
      'pod.yaml:6:3: spec.nodeSelector: not implemented by peapod, ignored: every pod runs on this host, there is no scheduling (refused in strict mode)',
    );
  });

  it('says nothing about unimplemented fields that ask for nothing', () => {
    const text = pod(`  securityContext: {}\n  tolerations: []\n  hostNetwork: false\n  nodeSelector:\n${ONE}`);
    expect(readPods(text, 'pod.yaml', { strict: true }).warnings).toEqual([]);
  });

  it('defaults the namespace, and nothing else', () => {
    const [p] = readPods(pod(ONE), 'pod.yaml').pods;
    expect(p).toEqual({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'default' },
      spec: { containers: [{ name: 'app', image: 'busybox' }] },
    });
    const [q] = readPods(pod(ONE, '  namespace: ""\n'), 'pod.yaml').pods;
    expect(q?.metadata.namespace).toBe('default');
  });

  it('drops unimplemented fields from the result', () => {
    const [p] = readPods(pod(`  nodeSelector: {a: b}\n${ONE}    resizePolicy: []\n    livenessProbe: {exec: {command: [x]}}\n`), 'f').pods;
    // Probes are read (peapod runs them); nodeSelector and resizePolicy are not.
    expect(p?.spec).toEqual({ containers: [{ name: 'app', image: 'busybox', livenessProbe: { exec: { command: ['x'] } } }] });
  });

  it('accepts YAML 1.1 booleans as kubectl does, and refuses them where a string is wanted', () => {
    const [p] = readPods(pod(`${ONE}    tty: yes\n    stdin: on\n`), 'f').pods;
    expect(p?.spec.containers[0]).toMatchObject({ tty: true, stdin: true });
    expect(errorOf(pod(`${ONE}    args: [no]\n`)).message).toContain('quote it: "no"');
  });

  it('points at the offending value, and at the key for unknown fields', () => {
    const e = errorOf('apiVersion: v1\nkind: Pod\nmetadata: {name: p, labls: {}}\nspec: {containers: [{name: c, image: 5}]}\n');
    expect(e.message.split('\n')).toEqual([
      'pod.yaml:3:21: metadata.labls: unknown field; did you mean "labels"?',
      'pod.yaml:4:38: spec.containers[0].image: expected string, got number "5"; quote it: "5"',
    ]);
  });

  it('accepts a UTF-8 byte order mark and CRLF line ends', () => {
    const text = `\uFEFF${pod(ONE)}`.replace(/\n/g, '\r\n');
    expect(readPods(text, 'f').pods).toHaveLength(1);
    const e = errorOf(`${text}    comand: [x]\r\n`);
    expect(e.issues[0]?.position).toMatchObject({ line: 9, column: 5 });
  });

  it.each([
    ['nothing', '', /no Pod found/],
    ['blank lines', '   \n\n', /no Pod found/],
    ['braces', '{{{{', /invalid YAML/],
    ['an open bracket', '[', /invalid YAML/],
    ['control characters', '\u0000\u0001\u0002', /./],
    ['a list', '- a\n- b\n', /expected a Kubernetes object/],
    ['a number', '42', /expected a Kubernetes object/],
    ['a bare kind', 'apiVersion: v1\nkind: Pod\n', /metadata: required value/],
    ['a list as kind', 'apiVersion: v1\nkind: [Pod]\n', /kind: expected string, got list/],
    ['an undefined alias', 'a: *nowhere\n', /unknown alias \*nowhere/],
    ['5000 nested flow lists', `${'['.repeat(5000)}${']'.repeat(5000)}`, /nested too deeply/],
    ['300 nested maps', `a:\n${Array.from({ length: 300 }, (_, i) => `${' '.repeat(2 * i + 2)}k:`).join('\n')}`, /nested too deeply/],
    ['2000 compact lists', `${'- '.repeat(2000)}x\n`, /nested too deeply/],
    ['an alias of itself', 'a: &a [*a]\n', /nested more than 100 levels/],
  ])('refuses %s with a ManifestError', (_, text, message) => {
    expect(() => readPods(text, 'f')).toThrow(ManifestError);
    expect(() => readPods(text, 'f')).toThrow(message);
  });

  it('survives deeply nested input again and again (the YAML parser alone would abort Node)', () => {
    const text = `${'['.repeat(50_000)}${']'.repeat(50_000)}`;
    for (let i = 0; i < 3; i++) expect(() => readPods(text, 'f')).toThrow(/nested too deeply/);
  });

  it('reads nesting as deep as real pods get', () => {
    const affinity = `  affinity:\n${Array.from({ length: 12 }, (_, i) => `${'        '.repeat(i + 1)}k${i}:`).join('\n')} {a: [[[x]]]}\n`;
    const { warnings } = readPods(pod(`${affinity}${ONE}`), 'f');
    expect(warnings.map((w) => w.path)).toEqual(['spec.affinity']);
  });
});

describe('readPodFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'peapod-spec-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a file and names it in positions', () => {
    const file = join(dir, 'p.yaml');
    writeFileSync(file, pod(`${ONE}    bogus: 1\n`));
    expect(() => readPodFile(file)).toThrow(`${file}:9:5: spec.containers[0].bogus: unknown field`);
  });

  it('turns a missing file into a ManifestError naming the path', () => {
    const file = join(dir, 'nope.yaml');
    expect(() => readPodFile(file)).toThrow(ManifestError);
    expect(() => readPodFile(file)).toThrow(`${file}: cannot read ${file}: no such file`);
  });

  it('turns a directory into a ManifestError', () => {
    expect(() => readPodFile(dir)).toThrow(/it is a directory/);
  });
});

describe('formatIssue', () => {
  it('formats with and without position, path and severity', () => {
    const position = { file: 'a.yaml', line: 3, column: 7 };
    expect(formatIssue({ path: 'spec.x', message: 'bad', severity: 'error', position })).toBe('a.yaml:3:7: spec.x: bad');
    expect(formatIssue({ path: 'spec.x', message: 'meh', severity: 'warning', position })).toBe(
      'a.yaml:3:7: warning: spec.x: meh',
    );
    expect(formatIssue({ path: '', message: 'gone', severity: 'error' }, 'b.yaml')).toBe('b.yaml: gone');
  });
});

describe('the field tables', () => {
  // k8s.io/api/core/v1 types as of Kubernetes 1.34.
  const POD_SPEC = `volumes initContainers containers ephemeralContainers restartPolicy terminationGracePeriodSeconds
    activeDeadlineSeconds dnsPolicy nodeSelector serviceAccountName serviceAccount automountServiceAccountToken
    nodeName hostNetwork hostPID hostIPC shareProcessNamespace securityContext imagePullSecrets hostname subdomain
    affinity schedulerName tolerations hostAliases priorityClassName priority dnsConfig readinessGates
    runtimeClassName enableServiceLinks preemptionPolicy overhead topologySpreadConstraints setHostnameAsFQDN os
    hostUsers schedulingGates resourceClaims resources hostnameOverride`;
  const CONTAINER = `name image command args workingDir ports envFrom env resources resizePolicy restartPolicy
    restartPolicyRules volumeMounts volumeDevices livenessProbe readinessProbe startupProbe lifecycle
    terminationMessagePath terminationMessagePolicy imagePullPolicy securityContext stdin stdinOnce tty`;
  const OBJECT_META = `name generateName namespace selfLink uid resourceVersion generation creationTimestamp
    deletionTimestamp deletionGracePeriodSeconds labels annotations ownerReferences finalizers managedFields`;
  const POD_SECURITY_CONTEXT = `seLinuxOptions windowsOptions runAsUser runAsGroup runAsNonRoot supplementalGroups
    supplementalGroupsPolicy fsGroup sysctls fsGroupChangePolicy seccompProfile appArmorProfile seLinuxChangePolicy`;
  const SECURITY_CONTEXT = `capabilities privileged seLinuxOptions windowsOptions runAsUser runAsGroup runAsNonRoot
    readOnlyRootFilesystem allowPrivilegeEscalation procMount seccompProfile appArmorProfile`;
  const VOLUME_MOUNT = 'name readOnly recursiveReadOnly mountPath subPath mountPropagation subPathExpr';

  it.each([
    ['PodSpec', POD_SPEC],
    ['Container', CONTAINER],
    ['ObjectMeta', OBJECT_META],
    ['PodSecurityContext', POD_SECURITY_CONTEXT],
    ['SecurityContext', SECURITY_CONTEXT],
    ['VolumeMount', VOLUME_MOUNT],
  ] as const)('cover every v1 %s field, each exactly once', (type, list) => {
    const known = [...Object.keys(SCHEMA[type]), ...Object.keys(NOT_IMPLEMENTED[type])];
    expect(new Set(known).size).toBe(known.length);
    expect(known.sort()).toEqual(list.split(/\s+/).filter(Boolean).sort());
  });
});
