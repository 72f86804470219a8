// `peapod ui` in a real browser: Debian's chromium, headless, driven by
// puppeteer-core. A pod runs; `peapod ui` runs as its own process; the
// page must show the pod, its figure with the pod's processes and the
// namespace inodes /proc shows, a process's namespaces, kernel steps and
// log on a click, and the pod going away when it is deleted. The browser
// runs as nobody, inside its own sandbox: chromium refuses its sandbox to
// root, and --no-sandbox is not needed when it is not root. A screenshot
// is kept in .cache/ui-browser.png.
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnPeapod } from './cli-harness.js';
import { freshRootPerTest, isAlive, isRoot, nsInode, pod, sh, type TestRoot, waitFor } from './helpers.js';
import { containerPid, start } from './pods.js';

const CHROMIUM = '/usr/bin/chromium';
const NOBODY = 65534;
const SCREENSHOT = join(process.cwd(), '.cache', 'ui-browser.png');

/** `peapod ui --root DIR` as a user starts it (Ctrl-C'd at the end of the test); resolves with its URL. */
async function startUi(root: TestRoot): Promise<string> {
  const ui = spawnPeapod(root, ['ui']);
  const out = (): string => ui.out() + ui.err();
  await waitFor('peapod ui to print its URL', () => /http:\/\/127\.0\.0\.1:\d+\/\S+\//.test(out()) || ui.child.exitCode !== null, 10_000);
  const url = /http:\/\/127\.0\.0\.1:\d+\/\S+\//.exec(out())?.[0];
  if (!url) throw new Error(`peapod ui did not start: ${out()}`);
  return url;
}

/** Chromium as nobody: a wrapper that drops to uid 65534, and a profile nobody owns. */
async function launch(dirs: string[]): Promise<Browser> {
  const tools = mkdtempSync(join(tmpdir(), 'peapod-chromium-'));
  const profile = mkdtempSync(join(tmpdir(), 'peapod-profile-'));
  dirs.push(tools, profile);
  chownSync(profile, NOBODY, NOBODY);
  const wrapper = join(tools, 'chromium');
  writeFileSync(wrapper, `#!/bin/sh\nexec setpriv --reuid=${NOBODY} --regid=${NOBODY} --clear-groups --inh-caps=-all ${CHROMIUM} "$@"\n`);
  chmodSync(wrapper, 0o700);
  return puppeteer.launch({
    executablePath: wrapper,
    userDataDir: profile,
    headless: true,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: profile },
    args: ['--disable-gpu', '--no-first-run'],
  });
}

const attr = (page: Page, selector: string, name: string): Promise<string[]> =>
  page.$$eval(selector, (els, n) => els.map((e) => e.getAttribute(n as string) ?? ''), name);

describe.skipIf(!isRoot)('peapod ui in chromium (root, real kernel)', () => {
  let root: TestRoot;
  freshRootPerTest((r) => (root = r));
  let browser: Browser | undefined;
  const dirs: string[] = [];

  afterEach(async () => {
    const chromiumPid = browser?.process()?.pid;
    await browser?.close();
    browser = undefined;
    if (chromiumPid) await waitFor('chromium to exit', () => !isAlive(chromiumPid), 5000);
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('shows the pod, its processes and the inodes /proc shows, steps and logs on a click, and the pod going away', async () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/install-deps.sh`).toBe(true);
    const s = await start(
      root,
      pod('seen', [sh('web', 'echo hello from web; exec sleep 300', { volumeMounts: [{ name: 'shared', mountPath: '/srv' }] }), sh('side', 'exec sleep 301')], [
        { name: 'shared', emptyDir: {} },
      ]),
    );
    const pause = s.runtime.sandbox.pid;
    const web = containerPid(s, 'web');
    const side = containerPid(s, 'side');

    const url = await startUi(root);
    browser = await launch(dirs);
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.setViewport({ width: 1280, height: 900 });
    await page.goto(url);

    // The pod in the list, live.
    await page.waitForSelector('#pods li[data-pod="seen"]');
    expect(await page.$eval('#status', (e) => e.textContent)).toBe('live');
    await page.click('#pods li[data-pod="seen"]');
    await page.waitForSelector('#figure svg[data-pod="seen"] g.process[data-pid]');

    // Its processes, and no other.
    const pids = (await attr(page, '#figure g.process[data-pid]', 'data-pid')).map(Number).sort((a, b) => a - b);
    expect(pids).toEqual([pause, web, side].sort((a, b) => a - b));
    // The shared namespaces, with the inodes the kernel shows, joined by all three.
    for (const kind of ['pid', 'net', 'ipc', 'uts'] as const) {
      const inode = nsInode(pause, kind);
      expect(nsInode(web, kind)).toBe(inode);
      expect(nsInode(side, kind)).toBe(inode);
      const bar = `#figure g.namespace[data-kind="${kind}"][data-inode="${inode}"]`;
      expect(await page.$eval(bar, (g) => g.textContent ?? '')).toContain(`${kind}:[${inode}]`);
      expect((await attr(page, bar, 'data-pids'))[0]?.split(' ').map(Number).sort()).toEqual([pause, web, side].map(Number).sort());
    }
    for (const pid of [web, side]) {
      const mnt = nsInode(pid, 'mnt');
      expect(await attr(page, `#figure g.namespace[data-kind="mnt"][data-inode="${mnt}"]`, 'data-pids')).toEqual([String(pid)]);
    }

    // A click on web: its namespaces, the steps that made it (pause's real pid in them), its log.
    await page.click(`#figure g.process[data-pid="${web}"]`);
    await page.waitForFunction(() => document.querySelectorAll('#namespaces tbody tr').length > 0);
    const rows = await page.$$eval('#namespaces tbody tr', (trs) => trs.map((tr) => [tr.getAttribute('data-kind'), tr.querySelector('.inode')?.textContent]));
    for (const [kind, inode] of rows) expect(Number(inode), String(kind)).toBe(nsInode(web, kind as string));
    await page.waitForFunction((p) => (document.getElementById('steps')?.textContent ?? '').includes(`setns(/proc/${p}/ns/net, CLONE_NEWNET)`), {}, pause);
    expect(await page.$eval('#steps', (e) => e.textContent)).toContain('== container web (image busybox) ==');
    await page.waitForFunction(() => (document.getElementById('logs')?.textContent ?? '').includes('hello from web'));

    mkdirSync(join(process.cwd(), '.cache'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    // Deleted: gone from the list and from the page.
    await s.runtime.stop({ force: true });
    await page.waitForFunction(() => document.querySelector('#pods li[data-pod="seen"]') === null);
    await page.waitForFunction(() => (document.getElementById('pod-message')?.textContent ?? '').includes('pod seen is gone'));
    expect(await page.$('#figure svg')).toBeNull();
    expect(errors).toEqual([]);
  });
});
