// securityContext as the reader sees it: the pod's supplementalGroups (a list
// of integers) and Bidirectional mount propagation, which only a privileged
// container may ask for.
import { describe, expect, it } from 'vitest';
import { secure } from './old-inputs.js';
import { ManifestError, NOT_IMPLEMENTED, type Pod, readPods } from '../../src/manifest/index.js';
import { SCHEMA } from '../../src/manifest/schema.js';

function pod(spec: string): string {
  return `apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n${spec}`;
}

const ONE = '  containers:\n  - name: app\n    image: busybox\n';

function read(text: string): Pod {
  const { pods, warnings } = readPods(text, 'pod.yaml', { strict: true });
  expect(warnings).toEqual([]);
  const [p] = pods;
  if (!p) throw new Error('no pod');
  return p;
}

/** The errors, as FILE:LINE:COL: PATH: message lines. */
function errors(text: string): string[] {
  try {
    readPods(text, 'pod.yaml');
  } catch (e) {
    if (e instanceof ManifestError) return e.message.split('\n');
    throw e;
  }
  throw new Error('expected a ManifestError');
}

const groups = (list: string): string => pod(`  securityContext:\n    supplementalGroups: ${list}\n${ONE}`);

describe('spec.securityContext.supplementalGroups', () => {
  it('is a schema field now, and no longer an unimplemented one', () => {
    expect(SCHEMA.PodSecurityContext.supplementalGroups).toEqual({ kind: 'integers' });
    expect(Object.keys(NOT_IMPLEMENTED.PodSecurityContext)).not.toContain('supplementalGroups');
  });

  it('reads as numbers, in order, duplicates kept, without a warning even in strict mode', () => {
    expect(read(groups('[0, 4000, 2147483647, 4000]')).spec.securityContext).toEqual({
      supplementalGroups: [0, 4000, 2147483647, 4000],
    });
    const block = pod(`  securityContext:\n    supplementalGroups:\n    - 10\n    - 20\n${ONE}`);
    expect(read(block).spec.securityContext?.supplementalGroups).toEqual([10, 20]);
  });

  it('keeps an empty list, and takes null as not set', () => {
    expect(read(groups('[]')).spec.securityContext).toEqual({ supplementalGroups: [] });
    expect(read(groups('null')).spec.securityContext).toEqual({});
    expect(read(groups('')).spec.securityContext).toEqual({});
  });

  it('reads from JSON as from YAML', () => {
    const json = JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: { securityContext: { supplementalGroups: [5, 6] }, containers: [{ name: 'a', image: 'busybox' }] },
    });
    expect(read(json).spec.securityContext?.supplementalGroups).toEqual([5, 6]);
  });

  it('reports each wrong item with its path and line:column', () => {
    expect(errors(groups('[1, "2", x, 3.5, null, [4], {a: 5}]'))).toEqual([
      'pod.yaml:7:29: spec.securityContext.supplementalGroups[1]: expected integer, got string "2"; remove the quotes',
      'pod.yaml:7:34: spec.securityContext.supplementalGroups[2]: expected integer, got string "x"',
      'pod.yaml:7:37: spec.securityContext.supplementalGroups[3]: expected integer, got number "3.5"',
      'pod.yaml:7:42: spec.securityContext.supplementalGroups[4]: expected integer, got null; Kubernetes would read an empty item as 0 (the root group): write 0 if that is meant, or remove it',
      'pod.yaml:7:48: spec.securityContext.supplementalGroups[5]: expected integer, got list',
      'pod.yaml:7:53: spec.securityContext.supplementalGroups[6]: expected integer, got map',
    ]);
  });

  it('says how to write a single group as a list', () => {
    expect(errors(groups('1000'))).toEqual([
      'pod.yaml:7:25: spec.securityContext.supplementalGroups: expected list of integers, got number "1000"; write it as a list: [1000]',
    ]);
    expect(errors(groups('"1000"'))).toEqual([
      'pod.yaml:7:25: spec.securityContext.supplementalGroups: expected list of integers, got string "1000"',
    ]);
  });

  it('refuses integers too large to be exact', () => {
    expect(errors(groups('[9007199254740993]'))).toEqual([
      'pod.yaml:7:26: spec.securityContext.supplementalGroups[0]: expected integer, got number "9007199254740993"; it is too large',
    ]);
  });

  it.each([0, 1, 65534, 2147483647])('accepts group id %d', (gid) => {
    expect(read(groups(`[${gid}]`)).spec.securityContext?.supplementalGroups).toEqual([gid]);
  });

  it.each([-1, 2147483648, 4294967294, 4294967295, 4294967296])('refuses group id %d, as the API server does', (gid) => {
    expect(errors(groups(`[${gid}]`))).toEqual([
      `pod.yaml:7:26: spec.securityContext.supplementalGroups[0]: must be a group id between 0 and 2147483647, inclusive, got ${gid}`,
    ]);
  });

  it('checks the range at the right index after an item of the wrong type', () => {
    expect(errors(groups('[x, -1]'))).toEqual([
      'pod.yaml:7:26: spec.securityContext.supplementalGroups[0]: expected integer, got string "x"',
      'pod.yaml:7:29: spec.securityContext.supplementalGroups[1]: must be a group id between 0 and 2147483647, inclusive, got -1',
    ]);
  });

  it('reaches the runtime: every group the reader accepts is applied', () => {
    const p = read(pod(`  securityContext:\n    runAsUser: 1000\n    runAsGroup: 3000\n    supplementalGroups: [4000, 2147483647]\n${ONE}`));
    const container = p.spec.containers[0];
    if (!container) throw new Error('no container');
    const fs = { readlink: () => null, exists: () => false, isFile: () => false, readFile: () => null };
    expect(secure({ container, podSpec: p.spec, rootfs: '/img', fs })).toMatchObject({
      uid: 1000,
      gid: 3000,
      groups: [3000, 4000, 2147483647],
    });
  });
});

const MOUNT = '    volumeMounts:\n    - name: data\n      mountPath: /data\n      mountPropagation: Bidirectional\n';

function propagation(securityContext: string, key: 'containers' | 'initContainers' = 'containers'): string {
  const init = key === 'initContainers' ? `  initContainers:\n  - name: init\n    image: busybox\n${securityContext}${MOUNT}` : '';
  const main = key === 'containers' ? securityContext + MOUNT : '';
  return pod(`  volumes:\n  - name: data\n    hostPath: {path: /mnt}\n${init}${ONE}${main}`);
}

describe('mountPropagation: Bidirectional', () => {
  it('is allowed to a privileged container', () => {
    const p = read(propagation('    securityContext:\n      privileged: true\n'));
    expect(p.spec.containers[0]?.volumeMounts).toEqual([{ name: 'data', mountPath: '/data', mountPropagation: 'Bidirectional' }]);
  });

  it('is allowed to a privileged init container', () => {
    const p = read(propagation('    securityContext: {privileged: true}\n', 'initContainers'));
    expect(p.spec.initContainers?.[0]?.volumeMounts?.[0]?.mountPropagation).toBe('Bidirectional');
  });

  it.each([
    ['no securityContext', ''],
    ['an empty securityContext', '    securityContext: {}\n'],
    ['privileged: false', '    securityContext:\n      privileged: false\n'],
    ['privileged: null', '    securityContext:\n      privileged: null\n'],
    ['only capabilities', '    securityContext:\n      capabilities: {add: [SYS_ADMIN]}\n'],
  ])('is refused with %s, saying what it needs', (_, sc) => {
    const [line, ...rest] = errors(propagation(sc));
    expect(rest).toEqual([]);
    expect(line).toMatch(/^pod\.yaml:\d+:25: spec\.containers\[0\]\.volumeMounts\[0\]\.mountPropagation: /);
    expect(line).toContain(
      'Bidirectional mount propagation is available only to privileged containers: set securityContext.privileged: true on this container, or use HostToContainer or None',
    );
  });

  it('is refused to an unprivileged init container', () => {
    expect(errors(propagation('', 'initContainers'))).toEqual([
      expect.stringMatching(/^pod\.yaml:\d+:25: spec\.initContainers\[0\]\.volumeMounts\[0\]\.mountPropagation: .*privileged: true/),
    ]);
  });

  it('is not made allowed by another container being privileged', () => {
    const text = propagation('').replace(
      '  containers:\n',
      '  containers:\n  - name: admin\n    image: busybox\n    securityContext: {privileged: true}\n',
    );
    expect(errors(text)).toEqual([expect.stringContaining('spec.containers[1].volumeMounts[0].mountPropagation: ')]);
  });

  it('gives one error, not two, when privileged itself is written wrong', () => {
    expect(errors(propagation('    securityContext:\n      privileged: "true"\n'))).toEqual([
      expect.stringContaining('spec.containers[0].securityContext.privileged: expected boolean (true or false), got string "true"'),
    ]);
    expect(errors(propagation('    securityContext: privileged\n'))).toEqual([
      expect.stringContaining('spec.containers[0].securityContext: expected a container securityContext (a map of fields)'),
    ]);
  });

  it('HostToContainer and None need no privilege', () => {
    for (const mode of ['HostToContainer', 'None']) {
      const p = read(propagation('').replace('Bidirectional', mode));
      expect(p.spec.containers[0]?.volumeMounts?.[0]?.mountPropagation).toBe(mode);
    }
  });
});

describe('user and group ids', () => {
  it('refuses runAsUser, runAsGroup and fsGroup outside 0..2147483647, with the field and line:column', () => {
    const text = `apiVersion: v1
kind: Pod
metadata: {name: ids}
spec:
  securityContext: {runAsUser: -1, fsGroup: 4294967296}
  containers:
  - name: c
    image: busybox
    securityContext: {runAsGroup: 2147483648}
`;
    const err = (() => {
      try {
        readPods(text, 'ids.yaml');
        return null;
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err?.message.split('\n')).toEqual([
      'ids.yaml:5:32: spec.securityContext.runAsUser: must be between 0 and 2147483647, inclusive, got -1',
      'ids.yaml:5:45: spec.securityContext.fsGroup: must be between 0 and 2147483647, inclusive, got 4294967296',
      'ids.yaml:9:35: spec.containers[0].securityContext.runAsGroup: must be between 0 and 2147483647, inclusive, got 2147483648',
    ]);
  });
});

describe('securityContext.seccompProfile', () => {
  const both = (pod: string, container: string): string =>
    pod2(`  securityContext:\n    seccompProfile: ${pod}\n  containers:\n  - name: app\n    image: busybox\n    securityContext:\n      seccompProfile: ${container}\n`);
  const pod2 = (spec: string): string => `apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n${spec}`;

  it('is a schema field now, pod- and container-level, and no longer an unimplemented one', () => {
    expect(SCHEMA.SecurityContext.seccompProfile).toEqual({ kind: 'object', of: 'SeccompProfile' });
    expect(SCHEMA.PodSecurityContext.seccompProfile).toEqual({ kind: 'object', of: 'SeccompProfile' });
    expect(Object.keys(NOT_IMPLEMENTED.SecurityContext)).not.toContain('seccompProfile');
    expect(Object.keys(NOT_IMPLEMENTED.PodSecurityContext)).not.toContain('seccompProfile');
  });

  it('reads every type without a warning, even in strict mode, and reaches the runtime: the container’s over the pod’s', () => {
    const p = read(both('{type: Unconfined}', '{type: Localhost, localhostProfile: team/audit.json}'));
    expect(p.spec.securityContext?.seccompProfile).toEqual({ type: 'Unconfined' });
    expect(p.spec.containers[0]?.securityContext?.seccompProfile).toEqual({ type: 'Localhost', localhostProfile: 'team/audit.json' });
    const audit = '{"defaultAction": "SCMP_ACT_LOG"}';
    const fs = { readlink: () => null, exists: () => false, isFile: () => false };
    const container = p.spec.containers[0];
    if (!container) throw new Error('no container');
    const readProfile = (f: string): string => (f === '/sec/team/audit.json' ? audit : '');
    expect(secure({ container, podSpec: p.spec, rootfs: '/img', fs, seccompRoot: '/sec', readProfile }).seccomp).toMatchObject({
      type: 'Localhost',
      file: '/sec/team/audit.json',
      profile: { defaultAction: 'SCMP_ACT_LOG', syscalls: [] },
    });
    expect(read(both('{type: RuntimeDefault}', '{type: Unconfined}')).spec.containers[0]?.securityContext?.seccompProfile).toEqual({ type: 'Unconfined' });
  });

  it('refuses what the API server refuses, each with its path and line:column', () => {
    expect(errors(both('{type: Localhost}', '{type: Unconfined, localhostProfile: a.json}'))).toEqual([
      "pod.yaml:7:5: spec.securityContext.seccompProfile.localhostProfile: required value: must be set when seccomp type is Localhost: the profile's file below the seccomp root ($PEAPOD_SECCOMP_ROOT, default /var/lib/peapod/seccomp), e.g. localhostProfile: profiles/audit.json",
      'pod.yaml:12:42: spec.containers[0].securityContext.seccompProfile.localhostProfile: can only be set when seccomp type is Localhost (the type is Unconfined); remove it',
    ]);
    expect(errors(both('{type: Default}', '{type: Localhost, localhostProfile: ../x.json}'))).toEqual([
      'pod.yaml:7:28: spec.securityContext.seccompProfile.type: unsupported value "Default" (supported values: "RuntimeDefault", "Unconfined", "Localhost")',
      'pod.yaml:12:59: spec.containers[0].securityContext.seccompProfile.localhostProfile: must not contain ".." (it would leave the seccomp root ($PEAPOD_SECCOMP_ROOT, default /var/lib/peapod/seccomp)): "../x.json"',
    ]);
  });
});
