// `peapod ui`'s server without root: a pod's record written by hand (its
// supervisor is this test process) under a state root of the test's own.
// Loopback only, nothing without the token, read-only, a foreign Host
// refused, and the pods' list streamed again when the state root changes.
import { request } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { podPaths, runtimePaths, type RuntimePaths } from '../../src/runtime/paths.js';
import { processStartTime } from '../../src/runtime/proc.js';
import { StateRootPoller } from '../../src/ui/changes.js';
import { startUiServer, type UiServer } from '../../src/ui/server.js';

const STATIC = join(process.cwd(), 'src', 'ui', 'static');

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(server: UiServer, path: string, options: { method?: string; host?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, method: options.method ?? 'GET', headers: options.host ? { host: options.host } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Reads server-sent events until `count` of the named event came, then closes. */
function events(server: UiServer, path: string, name: string, count: number, between?: (n: number) => void): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const got: unknown[] = [];
    const req = request({ host: '127.0.0.1', port: server.port, path }, (res) => {
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        buffer += d;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event !== name || data === undefined) continue;
          got.push(JSON.parse(data));
          if (got.length === count) {
            req.destroy();
            resolve(got);
            return;
          }
          between?.(got.length);
        }
      });
    });
    req.on('error', (err) => (got.length === count ? undefined : reject(err)));
    req.end();
  });
}

function writePod(paths: RuntimePaths, name: string): void {
  const pp = podPaths(paths, name);
  mkdirSync(pp.state, { recursive: true });
  const spec = { containers: [{ name: 'web', image: 'busybox' }] };
  const record = {
    name,
    uid: 'u-1',
    createdAt: '2026-01-01T00:00:00.000Z',
    supervisor: { pid: process.pid, startTime: processStartTime(process.pid) },
    containers: {},
    dataDir: pp.data,
    pod: { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec },
  };
  const status = { phase: 'Pending', conditions: [], containerStatuses: [{ name: 'web', state: { waiting: { reason: 'ContainerCreating' } }, ready: false, restartCount: 0 }], qosClass: 'BestEffort' };
  writeFileSync(pp.recordFile, JSON.stringify(record));
  writeFileSync(pp.podFile, JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name, uid: 'u-1', namespace: 'default', creationTimestamp: record.createdAt }, spec, status }));
}

describe('peapod ui server (no root)', () => {
  let dir = '';
  let paths: RuntimePaths;
  let server: UiServer;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'peapod-ui-'));
    paths = runtimePaths({ root: dir });
    mkdirSync(join(dir, 'pods'));
    server = await startUiServer({ paths, staticDir: STATIC, changes: new StateRootPoller(paths, 20) });
  });
  afterEach(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('listens on 127.0.0.1 only, at a URL holding a long random token', async () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/${server.token}/`);
    expect(server.token).toMatch(/^[\w-]{32,}$/);
    const other = await startUiServer({ paths, staticDir: STATIC });
    expect(other.token).not.toBe(server.token);
    await other.close();
  });

  it('serves nothing without the token, and nothing but reads with it', async () => {
    expect((await get(server, '/')).status).toBe(404);
    expect((await get(server, '/api/pods')).status).toBe(404);
    expect((await get(server, `/${server.token.slice(0, -1)}x/api/pods`)).status).toBe(404);
    expect((await get(server, `/${server.token}/api/pods`, { method: 'POST' })).status).toBe(405);
    expect((await get(server, `/${server.token}/api/pods`, { method: 'DELETE' })).status).toBe(405);
    const page = await get(server, `/${server.token}/`);
    expect(page.status).toBe(200);
    expect(page.body).toContain('<script src="app.js" defer></script>');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect((await get(server, `/${server.token}`)).headers.location).toBe(`/${server.token}/`);
    expect((await get(server, `/${server.token}/app.js`)).headers['content-type']).toContain('text/javascript');
  });

  it('refuses a Host that is not the loopback address (DNS rebinding)', async () => {
    const answer = await get(server, `/${server.token}/api/pods`, { host: `evil.example:${server.port}` });
    expect(answer.status).toBe(403);
    expect((await get(server, `/${server.token}/api/pods`, { host: `localhost:${server.port}` })).status).toBe(200);
  });

  it('lists the pods, and streams the list again when the state root changes', async () => {
    writePod(paths, 'one');
    const list = JSON.parse((await get(server, `/${server.token}/api/pods`)).body) as Array<{ name: string; live: boolean; containers: unknown[] }>;
    expect(list).toEqual([expect.objectContaining({ name: 'one', live: true, phase: 'Pending', containers: [expect.objectContaining({ name: 'web', state: 'waiting', reason: 'ContainerCreating' })] })]);

    const seen = await events(server, `/${server.token}/events`, 'pods', 3, (n) => {
      if (n === 1) writePod(paths, 'two');
      if (n === 2) rmSync(podPaths(paths, 'one').state, { recursive: true });
    });
    expect(seen.map((pods) => (pods as Array<{ name: string }>).map((p) => p.name))).toEqual([['one'], ['one', 'two'], ['two']]);
  });

  it('answers what it cannot show with the reason: no such pod, no process to inspect, no such container', async () => {
    writePod(paths, 'one');
    const missing = await get(server, `/${server.token}/api/pods/nope/figure.svg`);
    expect(missing.status).toBe(404);
    expect(missing.body).toContain('pods "nope" not found');
    const notRunning = await get(server, `/${server.token}/api/pods/one/figure.svg`);
    expect(notRunning.status).toBe(409);
    expect(notRunning.body).toContain('sandbox (pause) is not running');
    const logs = await get(server, `/${server.token}/api/pods/one/logs?container=db`);
    expect(logs.status).toBe(404);
    expect(logs.body).toContain('container "db" is not valid for pod one; choose one of: web');
  });
});
