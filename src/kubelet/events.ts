// What happened to a pod, as the kubelet reports it (Scheduled, Pulled,
// Created, Started, Killing, BackOff, ...). A repeat of the last event
// counts up instead of adding a line, like `kubectl describe` shows.

export interface PodEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  /** `spec.containers{name}`, as Kubernetes names the involved field. */
  fieldPath?: string;
  count: number;
  firstTimestamp: string;
  lastTimestamp: string;
}

export class EventLog {
  readonly events: PodEvent[] = [];
  private readonly limit = 200;

  record(type: PodEvent['type'], reason: string, message: string, fieldPath?: string): PodEvent {
    const now = new Date().toISOString();
    const same = this.events.find((e) => e.reason === reason && e.message === message && e.fieldPath === fieldPath);
    if (same) {
      same.count++;
      same.lastTimestamp = now;
      return same;
    }
    const event: PodEvent = { type, reason, message, ...(fieldPath ? { fieldPath } : {}), count: 1, firstTimestamp: now, lastTimestamp: now };
    this.events.push(event);
    if (this.events.length > this.limit) this.events.shift();
    return event;
  }
}
