/**
 * The idle wait of a polling loop (the job worker's and the delivery worker's): the poll interval,
 * ended early by wake() (work was just committed in this process, or a slot freed); after failed
 * polls (the database away) a wait doubling from the interval up to a cap.
 */
export class Poller {
  private wakeUp: (() => void) | null = null;
  /** A wake came while the loop was busy: it polls again at once instead of waiting. */
  pending = false;

  constructor(
    private readonly intervalMs: number,
    private readonly maxBackoffMs: number,
  ) {}

  wake(): void {
    this.pending = true;
    const w = this.wakeUp;
    this.wakeUp = null;
    w?.();
  }

  /** At the start of a poll: wakes until now are answered by it. */
  beginPoll(): void {
    this.pending = false;
  }

  /** After a poll; `failures`: polls failed in a row (0 when this one succeeded). */
  async idle(failures: number): Promise<void> {
    if (this.pending && failures === 0) return;
    const wait = failures === 0 ? this.intervalMs : Math.min(this.maxBackoffMs, this.intervalMs * 2 ** (failures - 1));
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.wakeUp = null;
        resolve();
      }, wait);
      this.wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
