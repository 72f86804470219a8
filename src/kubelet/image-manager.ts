// The kubelet's image manager, for one pod: before a container starts, its
// image is made present as its imagePullPolicy says (the API server's
// default: Always for `:latest` or no tag, else IfNotPresent). A pull runs
// in the background; meanwhile the container waits (ContainerCreating),
// after a failure it waits in ErrImagePull then ImagePullBackOff while the
// back-off (the pod's: base doubling to the cap) runs out, and is tried
// again. Never with the image absent is ErrImageNeverPull, a name that
// does not parse InvalidImageName. Events as the kubelet words them:
// Pulling, Pulled (with the time and size), Failed, BackOff.
//
// The built-in busybox and hand-made directory images are never pulled.
// The pod worker calls imageFor() before it asks the runtime for a
// container, and gives the runtime the image's ID.
import type { Container } from '../manifest/types.js';
import type { PullOptions, PullResult } from '../image/pull.js';
import { asImageId, parseReference, ReferenceError } from '../image/reference.js';
import { findLocalImage, isBuiltinName, resolveImage, type Image } from '../image/store.js';
import { loadRegistriesConf } from '../image/registries-conf.js';

export type PullPolicy = 'Always' | 'IfNotPresent' | 'Never';

export type ImageWaitingReason = 'ErrImagePull' | 'ImagePullBackOff' | 'ErrImageNeverPull' | 'InvalidImageName';

export interface ImageWaiting {
  reason: ImageWaitingReason;
  message: string;
}

/** The API server's default: Always for `:latest` or no tag (and no digest), else IfNotPresent. */
export function defaultPullPolicy(image: string): PullPolicy {
  try {
    const p = parseReference(image);
    const tag = p.tag ?? (p.digest === undefined ? 'latest' : '');
    return tag === 'latest' ? 'Always' : 'IfNotPresent';
  } catch {
    return 'IfNotPresent';
  }
}

export function pullPolicyOf(c: Pick<Container, 'image' | 'imagePullPolicy'>): PullPolicy {
  return c.imagePullPolicy ?? defaultPullPolicy(c.image);
}

/** What is decided without the network: the image to use, a pull to make, or why the container must wait. */
export function localDecision(store: string, c: Pick<Container, 'image' | 'imagePullPolicy'>, env: NodeJS.ProcessEnv = process.env): { image: Image } | { pull: true } | { waiting: ImageWaiting } {
  const ref = c.image;
  const policy = pullPolicyOf(c);
  if (isBuiltinName(ref)) return { image: resolveImage(store, ref) };
  try {
    parseReference(ref);
  } catch (err) {
    if (!asImageId(ref) && err instanceof ReferenceError) {
      return { waiting: { reason: 'InvalidImageName', message: `Failed to apply default image tag "${ref}": couldn't parse image name "${ref}": ${err.message}` } };
    }
  }
  let search: string[] = [];
  try {
    search = loadRegistriesConf(env).search;
  } catch {
    // A broken registries.conf is reported by the pull that needs it.
  }
  const present = findLocalImage(store, ref, search);
  // An image ID or a directory image can only be here or nowhere.
  if (present && (policy !== 'Always' || asImageId(ref) || present.id.startsWith('dir:'))) return { image: present };
  if (present && asImageId(ref)) return { image: present };
  if (asImageId(ref)) return { waiting: { reason: 'ErrImagePull', message: `image ID ${asImageId(ref)} is not on this machine, and an ID cannot be pulled: name the image by reference` } };
  if (policy === 'Never') {
    if (present) return { image: present };
    return { waiting: { reason: 'ErrImageNeverPull', message: `Container image "${ref}" is not present with pull policy of Never` } };
  }
  return { pull: true };
}

interface ContainerImageState {
  pulling?: Promise<void>;
  /** A pulled image the next start takes (Always pulls once per start). */
  fresh?: Image;
  waiting?: ImageWaiting;
  failures: number;
  retryAt?: number;
  timers: NodeJS.Timeout[];
}

export interface PodImagesOptions {
  store: string;
  /** Seconds of the first back-off and the longest (the pod's crash-loop settings). */
  backoff: { baseSeconds: number; capSeconds: number };
  /** An event about container `name` (its fieldPath is the pod's business). */
  event(type: 'Normal' | 'Warning', reason: string, message: string, name: string): void;
  /** Something changed for container `name`: look again (sync). */
  changed(name: string): void;
  env?: NodeJS.ProcessEnv;
  pull?: Omit<PullOptions, 'env'>;
}

/** A pull that failed, as the kubelet words it: the one-line reason, and the waiting reason it leads to. */
class PullFailed extends Error {
  constructor(
    reason: string,
    readonly waitingReason: ImageWaitingReason,
  ) {
    super(reason);
  }
}

function seconds(s: number): string {
  return `${s < 10 ? s.toFixed(3) : s.toFixed(1)}s`;
}

export class PodImages {
  private readonly state = new Map<string, ContainerImageState>();
  private closed = false;

  constructor(private readonly opts: PodImagesOptions) {}

  private of(name: string): ContainerImageState {
    let s = this.state.get(name);
    if (!s) {
      s = { failures: 0, timers: [] };
      this.state.set(name, s);
    }
    return s;
  }

  /** Why the container waits for its image, if it does. */
  waiting(name: string): ImageWaiting | undefined {
    return this.state.get(name)?.waiting;
  }

  /** Whether a pull for the container is under way. */
  pulling(name: string): boolean {
    return this.state.get(name)?.pulling !== undefined;
  }

  /**
   * The image to start `c` with now; undefined while it must wait (a pull
   * under way, a back-off, a reason in waiting()).
   */
  imageFor(c: Container): Image | undefined {
    const s = this.of(c.name);
    if (s.fresh) {
      const image = s.fresh;
      delete s.fresh;
      return image;
    }
    if (s.pulling || (s.retryAt !== undefined && Date.now() < s.retryAt)) return undefined;
    const decision = localDecision(this.opts.store, c, this.opts.env);
    if ('image' in decision) {
      delete s.waiting;
      this.opts.event('Normal', 'Pulled', `Container image "${c.image}" already present on machine`, c.name);
      return decision.image;
    }
    if ('waiting' in decision) {
      if (s.waiting?.message !== decision.waiting.message) this.opts.event('Warning', decision.waiting.reason === 'InvalidImageName' ? 'InspectFailed' : decision.waiting.reason, decision.waiting.message, c.name);
      s.waiting = decision.waiting;
      // The image may be loaded meanwhile: look again after the back-off.
      if (decision.waiting.reason !== 'InvalidImageName') this.retryLater(c, s);
      return undefined;
    }
    this.startPull(c, s);
    return undefined;
  }

  private startPull(c: Container, s: ContainerImageState): void {
    delete s.waiting;
    const started = Date.now();
    this.opts.event('Normal', 'Pulling', `Pulling image "${c.image}"`, c.name);
    // Not cancelled when the pod ends: another pod may share this pull, and the image is worth having (the kubelet does the same).
    // The registry client is loaded by the first pull: a pod of images already here never parses it.
    const pull = async (): Promise<PullResult> => {
      const { pullImage, PullError } = await import('../image/pull.js');
      try {
        return await pullImage(this.opts.store, c.image, { ...this.opts.pull, ...(this.opts.env ? { env: this.opts.env } : {}) });
      } catch (err) {
        throw err instanceof PullError ? new PullFailed(err.reason, err.waitingReason) : err;
      }
    };
    s.pulling = pull()
      .then(
        (result) => {
          if (this.closed) return;
          s.failures = 0;
          delete s.retryAt;
          s.fresh = findLocalImage(this.opts.store, result.id);
          if (s.fresh) s.fresh = { ...s.fresh, ref: c.image };
          const took = seconds((Date.now() - started) / 1000);
          this.opts.event('Normal', 'Pulled', `Successfully pulled image "${c.image}" in ${seconds(result.seconds)} (${took} including waiting). Image size: ${result.record.size} bytes.`, c.name);
        },
        (err: unknown) => {
          if (this.closed) return;
          const reason = err instanceof PullFailed ? err.waitingReason : 'ErrImagePull';
          const message = (err as Error).message;
          s.waiting = { reason, message };
          this.opts.event('Warning', 'Failed', `Failed to pull image "${c.image}": ${message}`, c.name);
          this.opts.event('Warning', 'Failed', `Error: ${reason}`, c.name);
          if (reason !== 'InvalidImageName') this.retryLater(c, s);
        },
      )
      .finally(() => {
        delete s.pulling;
        if (!this.closed) this.opts.changed(c.name);
      });
  }

  /** The kubelet's image back-off: ImagePullBackOff until it runs out, then another try. */
  private retryLater(c: Container, s: ContainerImageState): void {
    const { baseSeconds, capSeconds } = this.opts.backoff;
    const delay = Math.min(baseSeconds * 2 ** s.failures, capSeconds);
    s.failures++;
    s.retryAt = Date.now() + delay * 1000;
    if (s.waiting?.reason === 'ErrImagePull') {
      // The next look shows the back-off, as the kubelet's next sync does.
      s.timers.push(
        setTimeout(() => {
          if (s.waiting?.reason !== 'ErrImagePull') return;
          s.waiting = { reason: 'ImagePullBackOff', message: `Back-off pulling image "${c.image}"` };
          this.opts.event('Normal', 'BackOff', s.waiting.message, c.name);
          this.opts.changed(c.name);
        }, Math.min(1000, (delay * 1000) / 2)),
      );
    }
    s.timers.push(
      setTimeout(() => {
        delete s.retryAt;
        this.opts.changed(c.name);
      }, delay * 1000),
    );
  }

  /** The pod is ending: no more timers, no more starts; a pull under way finishes for the store alone. */
  close(): void {
    this.closed = true;
    for (const s of this.state.values()) for (const t of s.timers) clearTimeout(t);
  }
}
