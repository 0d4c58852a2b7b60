// Keeps up to `active` contacts in flight. An idle pool sleeps on one timer set to the next due time
// and is woken at once when a new peer arrives: no fixed sleeps, no polling.
import type { DueQueue, QueuedPeer } from '../queue/due-queue.ts';

export interface SchedulerOptions {
  active: number;
  /** Runs one contact; must not throw (a rejection is treated as a failed contact). */
  contact: (peer: QueuedPeer) => Promise<void>;
  now?: () => number;
}

export class Scheduler {
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private running = false;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly now: () => number;

  constructor(
    private readonly queue: DueQueue,
    private readonly opts: SchedulerOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  get active(): number {
    return this.inFlight.size;
  }

  start(): void {
    this.running = true;
    this.queue.onWake = () => this.pump();
    this.pump();
  }

  /** Stops taking new peers and waits for the contacts in flight to end. */
  async stop(): Promise<void> {
    this.running = false;
    this.queue.onWake = undefined;
    clearTimeout(this.timer);
    this.timer = undefined;
    await Promise.allSettled([...this.inFlight]);
  }

  /** Starts contacts while slots are free and peers are due, then sleeps until the next due time. */
  pump = (): void => {
    if (!this.running) return;
    const now = this.now();
    while (this.inFlight.size < this.opts.active) {
      const peer = this.queue.take(now);
      if (!peer) break;
      const run: Promise<void> = this.opts
        .contact(peer)
        .catch(() => undefined)
        .then(() => {
          this.inFlight.delete(run);
          this.pump();
        });
      this.inFlight.add(run);
    }
    this.sleepUntilNextDue(now);
  };

  private sleepUntilNextDue(now: number): void {
    const next = this.queue.nextDueAt();
    if (next === undefined || this.inFlight.size >= this.opts.active) return;
    if (this.timer && this.timerAt <= next) return; // an earlier wake-up is already set
    clearTimeout(this.timer);
    this.timerAt = next;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.pump();
    }, Math.max(0, next - now));
  }
}
