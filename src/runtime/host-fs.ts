// The real filesystem behind the plan's FsView.
import { lstatSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { dirAttrsOf, type FsView } from '../plan/scoped-path.js';

export const hostFs: FsView = {
  readFile(path) {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return null;
    }
  },
  readlink(path) {
    try {
      return lstatSync(path).isSymbolicLink() ? readlinkSync(path) : null;
    } catch {
      return null;
    }
  },
  exists(path) {
    try {
      lstatSync(path);
      return true;
    } catch {
      return false;
    }
  },
  isFile(path) {
    try {
      return statSync(path).isFile();
    } catch {
      return false;
    }
  },
  dirAttrs(path) {
    try {
      return dirAttrsOf(lstatSync(path));
    } catch {
      return null;
    }
  },
};
