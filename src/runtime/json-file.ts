// State files written atomically (write, then rename), so another process
// reads the old file or the new one, never half; and read back as their
// value, missing, or unreadable with why (never an exception).
import { readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { makeDir, MODE, writeFileWithMode } from './modes.js';

/** Write, then rename: a reader sees the old file or the new one, never half; a failed write leaves no temporary file. Root's alone: it holds the pod's env. */
export function writeTextAtomic(path: string, text: string): void {
  makeDir(dirname(path), MODE.podDir);
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileWithMode(tmp, text, MODE.record);
    renameSync(tmp, path);
  } catch (err) {
    // A full disk must not be made fuller by what was half written.
    rmSync(tmp, { force: true });
    throw err;
  }
}

export function jsonText(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeTextAtomic(path, jsonText(value));
}

/** A state file as read: its value, absent, or there but unreadable (with why). */
export type Read<T> = { value: T } | { missing: true } | { unreadable: string };

/** Reads a JSON file; `valid` says whether what it holds has the shape expected. */
export function readJsonFile<T>(path: string, valid: (v: unknown) => boolean = (v) => v !== null && typeof v === 'object'): Read<T> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return e.code === 'ENOENT' || e.code === 'ENOTDIR' ? { missing: true } : { unreadable: e.message };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { unreadable: text === '' ? 'the file is empty' : (err as Error).message };
  }
  return valid(value) ? { value: value as T } : { unreadable: 'it does not hold what peapod writes there' };
}

export function readJson<T>(path: string): T | null {
  const read = readJsonFile<T>(path);
  return 'value' in read ? read.value : null;
}
