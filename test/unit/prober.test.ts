// The prober's parts without a pod: thresholds as a table, the timing of a
// container's probes on a fake clock, and each handler's meaning of an
// answer against real servers on this process's loopback (netns null: the
// integration tests do the same from inside pods).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { InPodContext } from '../../src/kubelet/in-pod.js';
import { ContainerProber, type ProberHost } from '../../src/kubelet/prober/container-prober.js';
import { decodeStatus, encodeRequest } from '../../src/kubelet/prober/grpc-health.js';
import { runProbe, type ProbeAnswer } from '../../src/kubelet/prober/handlers.js';
import { initialState, nextState, probeSettings, type Outcome, type ProbeKind, type ProbeState } from '../../src/kubelet/prober/results.js';
import type { Container, Probe } from '../../src/manifest/types.js';

describe('thresholds (the kubelet worker’s resultRun)', () => {
  const run = (kind: ProbeKind, outcomes: Outcome[], successThreshold = 1, failureThreshold = 3): boolean[] => {
    let s: ProbeState = initialState(kind);
    return outcomes.map((o) => (s = nextState(kind, s, o, { successThreshold, failureThreshold })).ok);
  };
  it.each([
    // kind, outcomes, thresholds, the reported result after each
    ['readiness', ['success'], [1, 3], [true]],
    ['readiness', ['failure', 'failure', 'failure'], [1, 3], [false, false, false]],
    ['readiness', ['success', 'success', 'failure', 'failure', 'failure'], [2, 3], [false, true, true, true, false]],
    ['readiness', ['success', 'failure', 'success', 'success'], [2, 1], [false, false, false, true]],
    ['readiness', ['success', 'unknown', 'success'], [2, 1], [false, false, true]],
    ['liveness', ['failure', 'failure', 'success', 'failure', 'failure', 'failure'], [1, 3], [true, true, true, true, true, false]],
    ['liveness', ['failure', 'success', 'success'], [1, 1], [false, false, false]],
    ['startup', ['failure', 'success'], [1, 3], [false, true]],
  ] as const)('%s %j (success %j)', (kind, outcomes, [succ, fail], want) => {
    expect(run(kind, [...outcomes], succ, fail)).toEqual(want);
  });
  it('a liveness or startup failure puts the probe on hold until the next attempt', () => {
    const s = nextState('liveness', initialState('liveness'), 'failure', { successThreshold: 1, failureThreshold: 1 });
    expect(s).toMatchObject({ ok: false, onHold: true });
    expect(nextState('liveness', s, 'success', { successThreshold: 1, failureThreshold: 1 })).toBe(s);
    expect(initialState('liveness').ok).toBe(true);
    expect(initialState('readiness').ok).toBe(false);
  });
  it('takes the API server’s defaults for what is unset or 0', () => {
    expect(probeSettings({ exec: { command: ['x'] } })).toEqual({ initialDelayMs: 0, periodMs: 10_000, timeoutMs: 1000, successThreshold: 1, failureThreshold: 3 });
    expect(probeSettings({ periodSeconds: 0, timeoutSeconds: 5, initialDelaySeconds: 2 })).toMatchObject({ periodMs: 10_000, timeoutMs: 5000, initialDelayMs: 2000 });
  });
});

describe('a container’s probes on a fake clock', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  function prober(spec: Partial<Container>, answers: Record<string, Outcome>) {
    const runs: Array<[number, string]> = [];
    const changes: Array<[number, ProbeKind, boolean]> = [];
    const t0 = Date.now();
    const host: ProberHost = {
      run: async (probe) => {
        const word = probe.exec?.command?.[0] ?? '';
        runs.push([Date.now() - t0, word]);
        return { outcome: answers[word] ?? 'success', output: '' };
      },
      changed: (kind, ok) => changes.push([Date.now() - t0, kind, ok]),
      event: () => undefined,
    };
    return { p: new ContainerProber({ name: 'c', image: 'x', ...spec }, host), runs, changes, t0 };
  }
  const probe = (word: string, over: Partial<Probe> = {}): Probe => ({ exec: { command: [word] }, periodSeconds: 1, ...over });

  it('runs first after initialDelaySeconds, then every periodSeconds, until stopped', async () => {
    vi.useFakeTimers();
    const { p, runs, t0 } = prober({ livenessProbe: probe('live', { initialDelaySeconds: 2, periodSeconds: 3 }) }, {});
    p.start(t0);
    await vi.advanceTimersByTimeAsync(8100);
    expect(runs.map(([t]) => t)).toEqual([2000, 5000, 8000]);
    p.stop();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(runs).toHaveLength(3);
  });

  it('startup first; then readiness at once and liveness on its period; startup stops', async () => {
    vi.useFakeTimers();
    const answers: Record<string, Outcome> = { boot: 'failure' };
    const { p, runs, changes, t0 } = prober({ startupProbe: probe('boot', { failureThreshold: 10 }), livenessProbe: probe('live'), readinessProbe: probe('ready', { periodSeconds: 5 }) }, answers);
    p.start(t0);
    await vi.advanceTimersByTimeAsync(2500);
    expect(runs.map(([, w]) => w)).toEqual(['boot', 'boot', 'boot']);
    expect(p.started).toBe(false);
    answers.boot = 'success';
    await vi.advanceTimersByTimeAsync(1000);
    expect(p.started).toBe(true);
    // Readiness at once (the next turn of the clock), not at its 5 s period.
    expect(runs.find(([, w]) => w === 'ready')?.[0]).toBeLessThanOrEqual(3001);
    expect(runs[3]).toEqual([3000, 'boot']);
    await vi.advanceTimersByTimeAsync(3000);
    expect(runs.filter(([, w]) => w === 'boot')).toHaveLength(4);
    expect(runs.filter(([, w]) => w === 'live').length).toBeGreaterThanOrEqual(3);
    expect(changes.map(([t, k, ok]) => [Math.round(t / 100) * 100, k, ok])).toEqual([
      [3000, 'startup', true],
      [3000, 'readiness', true],
    ]);
    p.stop();
  });

  it('a failed liveness probe holds until the next start; a pod deletion makes it alive and stops it', async () => {
    vi.useFakeTimers();
    const { p, runs, changes, t0 } = prober({ livenessProbe: probe('live', { failureThreshold: 2 }) }, { live: 'failure' });
    p.start(t0);
    await vi.advanceTimersByTimeAsync(5000);
    expect(runs).toHaveLength(2);
    expect(changes).toEqual([[1000, 'liveness', false]]);
    p.podTerminating();
    expect(changes.at(-1)).toEqual([5000, 'liveness', true]);
    await vi.advanceTimersByTimeAsync(5000);
    expect(runs).toHaveLength(2);
    // The next attempt probes again, from alive.
    p.start(Date.now());
    await vi.advanceTimersByTimeAsync(100);
    expect(runs).toHaveLength(3);
    p.stop();
  });

  it('throws away a run that ends after its attempt was stopped', async () => {
    vi.useFakeTimers();
    let release!: (a: ProbeAnswer) => void;
    const changes: boolean[] = [];
    const p = new ContainerProber(
      { name: 'c', image: 'x', readinessProbe: probe('ready') },
      { run: () => new Promise((r) => (release = r)), changed: (_k, ok) => changes.push(ok), event: () => undefined },
    );
    p.start(Date.now());
    await vi.advanceTimersByTimeAsync(10);
    p.stop();
    release({ outcome: 'success', output: '' });
    await vi.advanceTimersByTimeAsync(10);
    expect(changes).toEqual([]);
  });
});

/** A context whose connections are made in this process's own network namespace, to servers on 127.0.0.1. */
function ctx(ports: Container['ports'] = []): InPodContext {
  const unused = (): never => {
    throw new Error('no runtime here');
  };
  return { runtime: { execSync: unused } as unknown as InPodContext['runtime'], containerId: 'c1', container: { name: 'c', image: 'x', ports }, netns: null, podIP: '127.0.0.1' };
}

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

describe('httpGet probes', () => {
  const seen: http.IncomingHttpHeaders[] = [];
  let port = 0;
  const server = http.createServer((req, res) => {
    seen.push(req.headers);
    const url = new URL(req.url ?? '/', 'http://x');
    const hop = Number(url.searchParams.get('hop') ?? 0);
    if (url.pathname === '/ok') res.end('fine');
    else if (url.pathname === '/bad') (res.statusCode = 503), res.end('sick');
    else if (url.pathname === '/here') (res.statusCode = 302), res.setHeader('location', '/ok'), res.end();
    else if (url.pathname === '/away') (res.statusCode = 301), res.setHeader('location', 'http://elsewhere.example/ok'), res.end('moved');
    else if (url.pathname === '/loop') (res.statusCode = 302), res.setHeader('location', `/loop?hop=${hop + 1}`), res.end();
    else if (url.pathname === '/slow') setTimeout(() => res.end('late'), 3000);
    else (res.statusCode = 404), res.end();
  });
  beforeAll(async () => {
    port = await listen(server);
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });
  const get = (path: string, over: Partial<Probe['httpGet'] & object> = {}, timeoutMs = 1000): Promise<ProbeAnswer> =>
    runProbe(ctx([{ name: 'web', containerPort: port }]), { httpGet: { port, path, ...over } }, timeoutMs);

  it('2xx succeeds with the body; 5xx and 404 fail with the status; a named port resolves', async () => {
    expect(await get('/ok')).toEqual({ outcome: 'success', output: 'fine' });
    expect(await get('/bad')).toEqual({ outcome: 'failure', output: 'HTTP probe failed with statuscode: 503' });
    expect(await get('/nope', { port: 'web' })).toEqual({ outcome: 'failure', output: 'HTTP probe failed with statuscode: 404' });
    expect((await get('/ok', { port: 'missing' })).outcome).toBe('unknown');
  });

  it('sends the kubelet’s headers, and the probe’s own (a repeated name twice)', async () => {
    seen.length = 0;
    await get('/ok', { httpHeaders: [{ name: 'X-Probe', value: 'a' }, { name: 'x-probe', value: 'b' }, { name: 'Accept', value: 'text/plain' }] });
    expect(seen[0]).toMatchObject({ 'user-agent': 'kube-probe/peapod', accept: 'text/plain', 'x-probe': 'a, b' });
  });

  it('follows a redirect to the same host; one elsewhere is not followed (success, with a warning); 10 at most', async () => {
    expect(await get('/here')).toEqual({ outcome: 'success', output: 'fine' });
    expect(await get('/away')).toEqual({ outcome: 'success', warning: true, output: 'Probe terminated redirects, Response body: moved' });
    expect(await get('/loop')).toEqual({ outcome: 'failure', output: expect.stringContaining('stopped after 10 redirects') });
  });

  it('fails at its timeout, and on a refused connection', async () => {
    const t0 = Date.now();
    expect(await get('/slow', {}, 300)).toEqual({ outcome: 'failure', output: expect.stringContaining('timed out after 0.3s') });
    expect(Date.now() - t0).toBeLessThan(2000);
    const closed = net.createServer();
    const dead = await listen(closed);
    closed.close();
    expect((await runProbe(ctx(), { httpGet: { port: dead, path: '/' } }, 1000)).output).toMatch(/ECONNREFUSED/);
  });

  it('HTTPS, with a certificate it does not verify (as the kubelet)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'peapod-tls-'));
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=pod', '-days', '1', '-keyout', join(dir, 'k'), '-out', join(dir, 'c')], { stdio: 'ignore' });
      const tlsServer = https.createServer({ key: readFileSync(join(dir, 'k')), cert: readFileSync(join(dir, 'c')) }, (_req, res) => res.end('secure'));
      const p = await listen(tlsServer);
      expect(await runProbe(ctx(), { httpGet: { port: p, path: '/', scheme: 'HTTPS' } }, 2000)).toEqual({ outcome: 'success', output: 'secure' });
      tlsServer.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('tcpSocket probes', () => {
  it('succeed when the port accepts, fail when it refuses', async () => {
    const server = net.createServer((s) => s.end());
    const port = await listen(server);
    expect(await runProbe(ctx(), { tcpSocket: { port } }, 1000)).toEqual({ outcome: 'success', output: '' });
    server.close();
    await new Promise((r) => server.once('close', r));
    expect(await runProbe(ctx(), { tcpSocket: { port, host: '127.0.0.1' } }, 1000)).toEqual({ outcome: 'failure', output: `dial tcp 127.0.0.1:${port}: connect: ECONNREFUSED` });
  });
});

describe('grpc probes', () => {
  const status: Record<string, number> = { '': 1, sick: 2 };
  let port = 0;
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      if (headers[':path'] !== '/grpc.health.v1.Health/Check') {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12', 'grpc-message': 'unknown service' }, { endStream: true });
        return;
      }
      const body = Buffer.concat(chunks).subarray(5);
      const service = body.length > 2 ? body.subarray(2).toString() : '';
      const n = status[service];
      if (n === undefined) {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '5', 'grpc-message': 'unknown service' }, { endStream: true });
        return;
      }
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      const msg = Buffer.from([0x08, n]);
      const head = Buffer.alloc(5);
      head.writeUInt32BE(msg.length, 1);
      stream.end(Buffer.concat([head, msg]));
    });
  });
  beforeAll(async () => {
    port = await listen(server as unknown as net.Server);
  });
  afterAll(() => {
    server.close();
  });

  it('encodes the request and decodes the response as protobuf says', () => {
    expect(encodeRequest('')).toEqual(Buffer.from([0, 0, 0, 0, 0]));
    expect(encodeRequest('ab')).toEqual(Buffer.from([0, 0, 0, 0, 4, 0x0a, 2, 0x61, 0x62]));
    expect(decodeStatus(Buffer.from([0, 0, 0, 0, 2, 0x08, 1]))).toBe(1);
    expect(decodeStatus(Buffer.from([0, 0, 0, 0, 0]))).toBe(0);
  });

  it('SERVING succeeds; NOT_SERVING and an unknown service fail in the kubelet’s words', async () => {
    expect(await runProbe(ctx(), { grpc: { port } }, 1000)).toEqual({ outcome: 'success', output: 'service is serving' });
    expect(await runProbe(ctx(), { grpc: { port, service: 'sick' } }, 1000)).toEqual({ outcome: 'failure', output: 'service unhealthy (responded with "NOT_SERVING")' });
    expect(await runProbe(ctx(), { grpc: { port, service: 'other' } }, 1000)).toEqual({ outcome: 'failure', output: 'rpc error: code = NotFound desc = unknown service' });
  });

  it('fails when nothing listens', async () => {
    const closed = net.createServer();
    const dead = await listen(closed);
    closed.close();
    expect((await runProbe(ctx(), { grpc: { port: dead } }, 1000)).output).toMatch(/^timeout: failed to connect service "127.0.0.1:\d+" within 1s: .*ECONNREFUSED/);
  });
});
