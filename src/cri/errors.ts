// peapod's errors as gRPC status codes: what the kubelet and crictl act on
// (NotFound after a removal is expected; InvalidArgument is the caller's to
// fix; Unimplemented says peapod does not do it). The message is peapod's.
import type { Grpc } from './grpc.js';

/** A request that cannot be served in the state things are in (a stopped container's log reopened). */
export class CriPreconditionError extends Error {
  override name = 'CriPreconditionError';
}

const INVALID = new Set([
  'CriArgumentError',
  'SysctlError',
  'PlanError',
  'SecurityError',
  'CapabilityError',
  'CommandError',
  'ImageUserError',
  'ReferenceError',
  'SeccompLoadError',
  'ScopedPathError',
  'PortSpecError',
  'HostPortConflictError',
]);

export function statusOf(err: unknown, grpc: Grpc): { code: number; details: string } {
  const e = err instanceof Error ? err : new Error(String(err));
  const { status } = grpc;
  let code: number = status.UNKNOWN;
  if (e.name === 'NotFoundError') code = status.NOT_FOUND;
  else if (e.name === 'CriUnsupportedError') code = status.UNIMPLEMENTED;
  else if (e.name === 'CriPreconditionError') code = status.FAILED_PRECONDITION;
  else if (e.name === 'CriTimeoutError') code = status.DEADLINE_EXCEEDED;
  else if (INVALID.has(e.name)) code = status.INVALID_ARGUMENT;
  else if (e.name === 'PullError' && (e as Error & { waitingReason?: string }).waitingReason === 'InvalidImageName') code = status.INVALID_ARGUMENT;
  return { code, details: e.message };
}
