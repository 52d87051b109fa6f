import { describe, expect, it } from "vitest";
import { Batcher } from "./batcher.js";

describe("Batcher", () => {
  it("groups what arrives while a batch is in flight, keeping each caller's own result", async () => {
    const batches: number[][] = [];
    const batcher = new Batcher<number, number>(
      async (items) => {
        batches.push(items);
        await new Promise((resolve) => setImmediate(resolve));
        return items.map((n) => n * 10);
      },
      { maxBatch: 100, maxInFlight: 1 },
    );
    const results = await Promise.all([1, 2, 3, 4, 5].map((n) => batcher.submit(n)));
    expect(results).toEqual([10, 20, 30, 40, 50]);
    // The first item goes alone at once; the rest, queued meanwhile, share the next statement.
    expect(batches).toEqual([[1], [2, 3, 4, 5]]);
  });

  it("retries a failed batch item by item, so one bad item fails alone", async () => {
    const batcher = new Batcher<number, number>(
      async (items) => {
        if (items.includes(3)) throw new Error("bad item 3");
        return items;
      },
      { maxBatch: 100, maxInFlight: 1 },
    );
    const results = await Promise.allSettled([1, 2, 3, 4].map((n) => batcher.submit(n)));
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "fulfilled", "rejected", "fulfilled"]);
    expect((results[2] as PromiseRejectedResult).reason).toEqual(new Error("bad item 3"));
  });
});
