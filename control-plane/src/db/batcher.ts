// Micro-batching for hot write paths: requests that arrive while a statement is in flight are
// grouped into the next one, so N concurrent requests cost a couple of round trips instead of N.
// One bad item must not fail its neighbours: a failed batch is retried item by item.

export interface BatcherOptions {
  /** Most items in one batch. */
  maxBatch: number;
  /** Most batches running at once. */
  maxInFlight: number;
}

interface Pending<I, O> {
  item: I;
  resolve(value: O): void;
  reject(error: unknown): void;
}

export class Batcher<I, O> {
  private readonly queue: Pending<I, O>[] = [];
  private inFlight = 0;

  /** `run` gets a batch and returns one result per item, in the same order. */
  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly options: BatcherOptions,
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.kick();
    });
  }

  private kick(): void {
    while (this.inFlight < this.options.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      this.inFlight++;
      void this.execute(batch).finally(() => {
        this.inFlight--;
        this.kick();
      });
    }
  }

  private async execute(batch: Pending<I, O>[]): Promise<void> {
    try {
      const results = await this.run(batch.map((p) => p.item));
      batch.forEach((p, i) => p.resolve(results[i] as O));
    } catch (error) {
      if (batch.length === 1) {
        batch[0]?.reject(error);
        return;
      }
      // Find the bad item: every other one still gets its answer.
      for (const p of batch) {
        await this.run([p.item]).then(
          (results) => p.resolve(results[0] as O),
          (itemError: unknown) => p.reject(itemError),
        );
      }
    }
  }
}
