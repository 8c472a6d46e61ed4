// Serialises server starts, restarts and stops: one at a time, in request order, none dropped.
// A request with a key joins a not-yet-started task with the same key (a restart requested while
// another restart waits is satisfied by that one: it starts later and reads the newest settings).

export class SerialQueue {
  private tail: Promise<void> = Promise.resolve();
  private readonly waiting = new Map<string, Promise<void>>();

  constructor(private readonly onError: (error: unknown) => void = () => undefined) {}

  /** Runs `task` after every task queued before it; resolves when it has run (errors go to onError). */
  run(task: () => Promise<void>, key?: string): Promise<void> {
    if (key !== undefined) {
      const queued = this.waiting.get(key);
      if (queued) return queued;
    }
    const next = this.tail.then(async () => {
      if (key !== undefined) this.waiting.delete(key);
      try {
        await task();
      } catch (error) {
        this.onError(error);
      }
    });
    if (key !== undefined) this.waiting.set(key, next);
    this.tail = next;
    return next;
  }

  /** Resolves once everything queued so far has run. */
  idle(): Promise<void> {
    return this.tail;
  }
}
