// Cuts short the contacts in flight when a crawl stops, so a stop takes seconds instead of up to
// --contact-limit (a peer dripping keep-alives holds its contact that long). What a contact read
// so far is kept: one that has the peer's state ends as `success`, one without as `stopped`.

/** A contact that can end early (src/evaluator/contact.ts). */
export interface CutShort {
  cutShort(): void;
}

export class ContactStop {
  private readonly open = new Set<CutShort>();
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  /** cutShortAll() was called: start nothing new. */
  get isStopped(): boolean {
    return this.stopped;
  }

  /** Contacts in flight that share this handle. */
  get inFlight(): number {
    return this.open.size;
  }

  /** A contact begins; one that begins after the stop is cut short at once (on the next tick). */
  add(contact: CutShort): void {
    if (this.stopped) queueMicrotask(() => contact.cutShort());
    else this.open.add(contact);
  }

  /** A contact ended by itself. */
  remove(contact: CutShort): void {
    this.open.delete(contact);
    if (this.open.size === 0 && this.idleWaiters.length > 0) this.wakeIdle();
  }

  /** Resolves once no contact is in flight (at once if none is). */
  whenIdle(): Promise<void> {
    if (this.open.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /** Ends every contact in flight now, and any that begins later. */
  cutShortAll(): void {
    this.stopped = true;
    for (const contact of [...this.open]) contact.cutShort();
    this.open.clear();
    this.wakeIdle();
  }
}
