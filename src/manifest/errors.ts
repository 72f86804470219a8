// What the reader reports about a manifest, and the one error type it throws.
import type { SourcePosition } from './types.js';

export interface SpecIssue {
  /** Kubernetes field path, e.g. `spec.containers[1].volumeMounts[0].name`; '' for file/YAML-level issues. */
  path: string;
  message: string;
  position?: SourcePosition;
  severity: 'error' | 'warning';
}

/** `FILE:LINE:COL: PATH: message` (warnings say so after the position). */
export function formatIssue(issue: SpecIssue, file?: string): string {
  const name = issue.position?.file ?? file ?? '<input>';
  const where = issue.position ? `${name}:${issue.position.line}:${issue.position.column}` : name;
  const level = issue.severity === 'warning' ? 'warning: ' : '';
  const path = issue.path ? `${issue.path}: ` : '';
  return `${where}: ${level}${path}${issue.message}`;
}

/** Issues without a position (file-level) first, then by line and column; stable otherwise. */
export function compareIssues(a: SpecIssue, b: SpecIssue): number {
  const pa = a.position;
  const pb = b.position;
  if (!pa || !pb) return (pa ? 1 : 0) - (pb ? 1 : 0);
  if (pa.file !== pb.file) return pa.file < pb.file ? -1 : 1;
  return pa.line - pb.line || pa.column - pb.column;
}

export function sortIssues(issues: readonly SpecIssue[]): SpecIssue[] {
  return issues
    .map((issue, i) => ({ issue, i }))
    .sort((x, y) => compareIssues(x.issue, y.issue) || x.i - y.i)
    .map((x) => x.issue);
}

/**
 * A manifest that cannot be run. `issues` holds every error and warning found
 * (sorted by position); `message` lists the errors only, one per line.
 */
export class ManifestError extends Error {
  readonly issues: SpecIssue[];

  constructor(issues: readonly SpecIssue[], file?: string) {
    const sorted = sortIssues(issues);
    const errors = sorted.filter((i) => i.severity === 'error');
    super(errors.map((i) => formatIssue(i, file)).join('\n') || 'invalid manifest');
    this.name = 'ManifestError';
    this.issues = sorted;
  }

  get errors(): SpecIssue[] {
    return this.issues.filter((i) => i.severity === 'error');
  }
}
