// The CRI's pure pieces: SPDY's header dictionary and the header blocks
// peapod writes (read back by zlib, as any client's inflater reads them),
// the error channel's status, the translation of requests, sysctl names,
// oom_score_adj clamping.
import { createHash } from 'node:crypto';
import { constants, createInflate } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { statusMessage } from '../../src/cri/streaming/remote-command.js';
import { SPDY3_DICTIONARY } from '../../src/cri/streaming/spdy-dictionary.js';
import { cgroupParent, containerConfig, CriArgumentError, CriUnsupportedError, podSandboxConfig, seccompProfile } from '../../src/cri/translate.js';
import { sysctlPath, SysctlError } from '../../src/plan/sandbox.js';
import { clampOomScoreAdj } from '../../src/runtime/oom.js';
import { encodeHeaderBlockForTest } from '../../src/cri/streaming/spdy.js';

describe('SPDY/3 header compression', () => {
  it('has the dictionary of the SPDY/3 draft, byte for byte', () => {
    expect(SPDY3_DICTIONARY.length).toBe(1423);
    expect(createHash('sha256').update(SPDY3_DICTIONARY).digest('hex')).toBe('51d27341373f923f3cd88e1eb7162aeaa3723d7585ff2399201dc06498407f02');
  });

  it('writes header blocks that one zlib stream with the dictionary reads, block after block', async () => {
    const blocks = encodeHeaderBlockForTest([{}, { 'X-Stream-Protocol-Version': 'v4.channel.k8s.io' }, { a: 'b'.repeat(70_000) }]);
    const inflate = createInflate({ dictionary: SPDY3_DICTIONARY });
    const out: Buffer[] = [];
    inflate.on('data', (d: Buffer) => out.push(d));
    const read = async (block: Buffer): Promise<Buffer> => {
      inflate.write(block);
      await new Promise<void>((r) => inflate.flush(constants.Z_SYNC_FLUSH, () => r()));
      return Buffer.concat(out.splice(0));
    };
    expect((await read(blocks[0] as Buffer)).toString('hex')).toBe('00000000');
    const second = await read(blocks[1] as Buffer);
    expect(second.readUInt32BE(0)).toBe(1);
    expect(second.subarray(8, 8 + 25).toString()).toBe('x-stream-protocol-version');
    // Over 64 KiB: several stored blocks, still one header block.
    expect((await read(blocks[2] as Buffer)).length).toBe(4 + 4 + 1 + 4 + 70_000);
    // Each block ends as a sync flush does, so a reader stops exactly at the frame's end.
    for (const b of blocks) expect(b.subarray(-5).toString('hex')).toBe('000000ffff');
  });
});

describe('the error channel', () => {
  it('says a success, an exit code and an error as each protocol version does', () => {
    expect(JSON.parse(String(statusMessage('v4.channel.k8s.io', { exitCode: 0 }, ['true'])))).toEqual({ metadata: {}, status: 'Success' });
    expect(statusMessage('v2.channel.k8s.io', { exitCode: 0 }, ['true'])).toBeUndefined();
    const failed = JSON.parse(String(statusMessage('v5.channel.k8s.io', { exitCode: 3 }, ['sh'])));
    expect(failed).toMatchObject({ status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '3' }] } });
    expect(String(statusMessage('channel.k8s.io', { exitCode: 3 }, ['sh']))).toMatch(/exit code 3/);
    expect(JSON.parse(String(statusMessage('v4.channel.k8s.io', { error: 'gone' }, [])))).toMatchObject({ status: 'Failure', message: 'gone' });
  });
});

describe('CRI requests as the runtime takes them', () => {
  const defaults = { cgroupParent: 'peapod', logRoot: '/var/lib/peapod/cri-logs' };
  const pod = { metadata: { name: 'web', uid: 'u-1', namespace: 'ns', attempt: 2 }, hostname: 'web', logDirectory: '/var/log/pods/ns_web_u-1', dnsConfig: null, portMappings: [{ protocol: 'TCP' as const, containerPort: 80, hostPort: 8080, hostIp: '' }, { protocol: 'UDP' as const, containerPort: 53, hostPort: 0, hostIp: '' }], labels: { a: 'b' }, annotations: { c: 'd' }, linux: null };

  it('keeps a pod apart from peapod own pods, its cgroup under the parent asked (cgroupfs), only real hostPorts mapped', () => {
    const c = podSandboxConfig(pod, defaults);
    expect(c.podDirectory).toBe('.cri-ns_web_u-1');
    expect(c.linux.cgroupParent).toBe('peapod');
    expect(c.portMappings).toEqual([{ protocol: 'tcp', containerPort: 80, hostPort: 8080 }]);
    expect(cgroupParent('/kubepods/burstable/', 'peapod')).toBe('kubepods/burstable');
    expect(() => cgroupParent('/kubepods/../etc', 'peapod')).toThrow(CriArgumentError);
    expect(() => cgroupParent('kubepods.slice', 'peapod')).toThrow(CriUnsupportedError);
    expect(() => podSandboxConfig(null, defaults)).toThrow(/config: a PodSandboxConfig is required/);
  });

  it('reads an unset seccomp profile as unconfined (the CRI defines it so), the deprecated path form, and refuses a relative localhost_ref', () => {
    expect(seccompProfile(null, '', 'f')).toEqual({ profileType: 'Unconfined' });
    expect(seccompProfile(null, 'runtime/default', 'f')).toEqual({ profileType: 'RuntimeDefault' });
    expect(seccompProfile(null, 'localhost//p.json', 'f')).toMatchObject({ profileType: 'Localhost', localhostRef: '/p.json' });
    expect(seccompProfile({ profileType: 'RuntimeDefault', localhostRef: '' }, '', 'f')).toEqual({ profileType: 'RuntimeDefault' });
    expect(() => seccompProfile({ profileType: 'Localhost', localhostRef: 'p.json' }, '', 'f')).toThrow(/absolute path/);
  });

  it('resolves run_as_username in the image, and refuses a group alone and ambient capabilities by name', () => {
    const base = { metadata: { name: 'c', attempt: 0 }, image: { image: 'x', annotations: {}, userSpecifiedImage: '', runtimeHandler: '' }, command: [], args: [], workingDir: '', envs: [], mounts: [], devices: [], labels: {}, annotations: {}, logPath: '', stdin: false, stdinOnce: false, tty: false };
    const sc = (over: object): object => ({ capabilities: null, privileged: false, namespaceOptions: null, runAsUser: null, runAsUsername: '', runAsGroup: null, readonlyRootfs: false, supplementalGroups: [], noNewPrivs: false, maskedPaths: [], readonlyPaths: [], seccomp: null, seccompProfilePath: '', apparmor: null, apparmorProfile: '', ...over });
    const ctx = { image: 'sha256:1', imageRef: 'sha256:1', sandboxPrivileged: false, users: { uidOf: (n: string) => (n === 'nobody' ? 65534 : Number.NaN) } };
    const made = containerConfig({ ...base, linux: { resources: null, securityContext: sc({ runAsUsername: 'nobody' }) as never } }, ctx);
    expect(made.linux.securityContext.runAsUser).toBe(65534);
    expect(made.logPath).toBe('c/0.log');
    expect(made.pidInit).toBe(false);
    // The kubelet rotates CRI logs (ReopenContainerLog); the image reference it reports goes with the container.
    expect(made).toMatchObject({ rotateLogs: false, imageRef: 'sha256:1' });
    expect(() => containerConfig({ ...base, linux: { resources: null, securityContext: sc({ runAsGroup: { value: 1 } }) as never } }, ctx)).toThrow(/run_as_group/);
    expect(() => containerConfig({ ...base, linux: { resources: null, securityContext: sc({ capabilities: { addCapabilities: [], dropCapabilities: [], addAmbientCapabilities: ['NET_RAW'] } }) as never } }, ctx)).toThrow(CriUnsupportedError);
    expect(() => containerConfig({ ...base, linux: { resources: null, securityContext: sc({ privileged: true }) as never } }, ctx)).toThrow(/privileged sandbox/);
  });
});

describe('sysctls of a pod', () => {
  const own = ['mnt', 'pid', 'net', 'ipc', 'uts'] as const;
  it("are the pod's own namespaces' only, as /proc/sys paths", () => {
    expect(sysctlPath('net.ipv4.ip_forward', [...own])).toBe('/proc/sys/net/ipv4/ip_forward');
    expect(sysctlPath('net.ipv4.conf.eth0/1.forwarding', [...own])).toBe('/proc/sys/net/ipv4/conf/eth0.1/forwarding');
    expect(sysctlPath('kernel.shm_rmid_forced', [...own])).toBe('/proc/sys/kernel/shm_rmid_forced');
    expect(sysctlPath('fs.mqueue.msg_max', [...own])).toBe('/proc/sys/fs/mqueue/msg_max');
    expect(() => sysctlPath('kernel.pid_max', [...own])).toThrow(/not namespaced/);
    expect(() => sysctlPath('net.core.somaxconn', ['mnt', 'pid', 'ipc', 'uts'])).toThrow(/shares the host's net namespace/);
    expect(() => sysctlPath('net.ipv4.. .x', [...own])).toThrow(SysctlError);
    expect(() => sysctlPath('net/../../etc', [...own])).toThrow(SysctlError);
  });
});

describe('oom_score_adj', () => {
  it('is raised to our own without CAP_SYS_RESOURCE, kept within -1000..1000, and never refused', () => {
    expect(clampOomScoreAdj(-998, false, 0)).toBe(0);
    expect(clampOomScoreAdj(-998, true, 0)).toBe(-998);
    expect(clampOomScoreAdj(500, false, 0)).toBe(500);
    expect(clampOomScoreAdj(5000, true, 0)).toBe(1000);
    expect(clampOomScoreAdj(-5000, true, 0)).toBe(-1000);
  });
});
