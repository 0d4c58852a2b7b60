// Keeps up to `active` contacts in flight. An idle pool sleeps on one timer set to the next due time
// and is woken at once when a new peer arrives: no fixed sleeps, no polling.
//
// Per contact: one promise callback pair shared by all contacts (no closure or Set entry each). A
// burst (the first fill of 4,096 slots, a flood of new peers waking the pool once each) starts at
// most MAX_STARTS_BETWEEN_YIELDS contacts, then continues on the next turn of the event loop, so
// opening thousands of sockets never blocks the loop for long. (In steady state that costs one
// setImmediate per MAX_STARTS_BETWEEN_YIELDS contacts.)
import type { DueQueue, QueuedPeer } from '../queue/due-queue.ts';

export interface SchedulerOptions {
  active: number;
  /** Runs one contact; must not throw (a rejection is treated as a failed contact). */
  contact: (peer: QueuedPeer) => Promise<void>;
  now?: () => number;
}

/** Contacts started before the pool yields to the event loop (about 5 ms of socket set-up). */
const MAX_STARTS_BETWEEN_YIELDS = 128;

export class Scheduler {
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private resume: NodeJS.Immediate | undefined;
  /** Contacts started since the pool last yielded (see MAX_STARTS_BETWEEN_YIELDS). */
  private startsSinceYield = 0;
  private running = false;
  private inFlight = 0;
  /** Resolves stop() once the last contact in flight has ended. */
  private drained: (() => void) | undefined;
  private readonly now: () => number;

  constructor(
    private readonly queue: DueQueue,
    private readonly opts: SchedulerOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  get active(): number {
    return this.inFlight;
  }

  start(): void {
    this.running = true;
    this.queue.onWake = this.pump;
    this.pump();
  }

  /** Stops taking new peers and waits for the contacts in flight to end. */
  async stop(): Promise<void> {
    this.running = false;
    this.queue.onWake = undefined;
    clearTimeout(this.timer);
    this.timer = undefined;
    clearImmediate(this.resume);
    this.resume = undefined;
    if (this.inFlight > 0) await new Promise<void>((resolve) => (this.drained = resolve));
  }

  /** Starts contacts while slots are free and peers are due, then sleeps until the next due time. */
  pump = (): void => {
    if (!this.running) return;
    const now = this.now();
    while (this.inFlight < this.opts.active) {
      if (this.startsSinceYield >= MAX_STARTS_BETWEEN_YIELDS) {
        this.resume ??= setImmediate(this.resumePump);
        return;
      }
      const peer = this.queue.take(now);
      if (!peer) break;
      const run = this.opts.contact(peer);
      this.inFlight++;
      this.startsSinceYield++;
      run.then(this.ended, this.ended);
    }
    this.sleepUntilNextDue(now);
  };

  private readonly resumePump = (): void => {
    this.resume = undefined;
    this.startsSinceYield = 0;
    this.pump();
  };

  /** A contact ended (resolved or rejected): its slot is free. */
  private readonly ended = (): void => {
    this.inFlight--;
    if (this.inFlight === 0 && this.drained) {
      const drained = this.drained;
      this.drained = undefined;
      drained();
    }
    this.pump();
  };

  private sleepUntilNextDue(now: number): void {
    const next = this.queue.nextDueAt();
    if (next === undefined || this.inFlight >= this.opts.active) return;
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
