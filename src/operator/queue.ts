/**
 * A work queue of keys, as controller-runtime's: a key queued many times is reconciled once;
 * a key is never reconciled by two workers at once, however many call next(); failures retry
 * with a per-key exponential back-off (1 s → 60 s) that resets on success.
 */
/** The longest delay setTimeout honours (2^31-1 ms); longer ones fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export class KeyQueue {
  readonly #pending = new Set<string>();
  readonly #active = new Set<string>();
  readonly #dirtyWhileActive = new Set<string>();
  readonly #failures = new Map<string, number>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #delayed = new Map<string, NodeJS.Timeout>();
  /** Workers waiting in next(); add() wakes one. */
  readonly #waiters = new Set<() => void>();

  constructor(
    private readonly baseDelayMs = 1000,
    private readonly maxDelayMs = 60_000,
  ) {}

  add(key: string): void {
    if (this.#active.has(key)) this.#dirtyWhileActive.add(key);
    else this.#pending.add(key);
    const [wake] = this.#waiters;
    if (wake) {
      this.#waiters.delete(wake);
      wake();
    }
  }

  /** Requeue after a failure, later each time it fails again. */
  retry(key: string): number {
    const n = (this.#failures.get(key) ?? 0) + 1;
    this.#failures.set(key, n);
    const delay = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (n - 1));
    const t = setTimeout(() => {
      this.#timers.delete(t);
      this.add(key);
    }, delay);
    this.#timers.add(t);
    return delay;
  }

  /**
   * Queue the key again after `ms` (controller-runtime's RequeueAfter); one wake-up per key.
   * Node fires a timer longer than 2^31-1 ms (~24.8 days) after 1 ms instead, which turned a
   * 30-day learning window into a requeue every millisecond: long waits re-arm in steps.
   */
  addAfter(key: string, ms: number): void {
    clearTimeout(this.#delayed.get(key));
    const step = Math.min(Math.max(ms, 0), MAX_TIMER_MS);
    this.#delayed.set(
      key,
      setTimeout(() => {
        this.#delayed.delete(key);
        if (ms > step) this.addAfter(key, ms - step);
        else this.add(key);
      }, step),
    );
  }

  forget(key: string): void {
    this.#failures.delete(key);
  }

  /** The next key to work on, or undefined when the signal aborts. */
  async next(signal: AbortSignal): Promise<string | undefined> {
    while (!signal.aborted) {
      const [key] = this.#pending;
      if (key !== undefined) {
        this.#pending.delete(key);
        this.#active.add(key);
        return key;
      }
      await new Promise<void>((resolve) => {
        // One abort listener per wait, removed when the wait ends some other way.
        const wake = () => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        };
        const onAbort = () => {
          this.#waiters.delete(wake);
          resolve();
        };
        this.#waiters.add(wake);
        signal.addEventListener("abort", onAbort, { once: true });
      });
    }
    return undefined;
  }

  done(key: string): void {
    this.#active.delete(key);
    if (this.#dirtyWhileActive.delete(key)) this.add(key);
  }

  get length(): number {
    return this.#pending.size;
  }

  shutdown(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    for (const t of this.#delayed.values()) clearTimeout(t);
    this.#delayed.clear();
  }
}
