// Runs once before the suite. Integration tests share one image store so the
// busybox image is built once per run, not once per test.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export default function setup(): void {
  const cache = join(process.cwd(), '.cache', 'images');
  mkdirSync(cache, { recursive: true });
  process.env.PEAPOD_IMAGES = cache;
}
