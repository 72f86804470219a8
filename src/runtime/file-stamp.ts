// What a file is as a string (inode, size, modification and change times):
// the same stamp means the same file, unchanged; a replacement by rename is
// a new inode, an edit in place new times.
import type { Stats } from 'node:fs';

export function fileStamp(st: Stats): string {
  return `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}
