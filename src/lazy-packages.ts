// Packages a command needs on some of its paths only, loaded from
// node_modules on first use: a CLI call that never takes those paths does not
// parse them (the bundle would otherwise load them with the verb's chunk).
import { createRequire } from 'node:module';

const load = createRequire(import.meta.url);

/** yaml, for `-o yaml`. */
export const yamlPackage = (): typeof import('yaml') => load('yaml') as typeof import('yaml');

/** tar (85 KB minified, and node:assert), when an image is built. */
export const tarPackage = (): typeof import('tar') => load('tar') as typeof import('tar');

/** node:child_process (~1.6 ms to load), for the paths that run a program (CNI plugins, building the busybox image): most CLI calls run none. */
export const childProcess = (): typeof import('node:child_process') => load('node:child_process') as typeof import('node:child_process');
