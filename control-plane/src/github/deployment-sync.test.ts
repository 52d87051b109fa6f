import { describe, expect, it } from "vitest";
import { rateLimitDelayMs } from "../jobs/github-jobs.js";
import { statusesToPost } from "./deployment-sync.js";

describe("statusesToPost", () => {
  it("posts every missing step in order, once", () => {
    expect(statusesToPost(null, "queued")).toEqual(["queued"]);
    expect(statusesToPost(null, "success")).toEqual(["queued", "in_progress", "success"]);
    expect(statusesToPost("queued", "in_progress")).toEqual(["in_progress"]);
    expect(statusesToPost("in_progress", "failure")).toEqual(["failure"]);
    expect(statusesToPost("in_progress", "in_progress")).toEqual([]);
  });

  it("never moves a finished deployment, except success becoming inactive", () => {
    expect(statusesToPost("failure", "success")).toEqual([]);
    expect(statusesToPost("success", "inactive")).toEqual(["inactive"]);
    expect(statusesToPost("inactive", "inactive")).toEqual([]);
  });
});

describe("rateLimitDelayMs", () => {
  const now = 1_700_000_000_000;
  it("waits until the primary rate limit resets", () => {
    const error = {
      status: 403,
      response: { headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(now / 1000 + 30) } },
    };
    expect(rateLimitDelayMs(error, now)).toBe(31_000);
  });

  it("honours retry-after on secondary rate limits", () => {
    expect(rateLimitDelayMs({ status: 429, response: { headers: { "retry-after": "7" } } }, now)).toBe(7000);
    expect(rateLimitDelayMs({ status: 403, response: { headers: { "retry-after": "2" } } }, now)).toBe(2000);
  });

  it("treats other failures as ordinary errors", () => {
    expect(rateLimitDelayMs({ status: 403, response: { headers: { "x-ratelimit-remaining": "12" } } }, now)).toBe(
      undefined,
    );
    expect(rateLimitDelayMs({ status: 500 }, now)).toBe(undefined);
    expect(rateLimitDelayMs(new Error("socket hang up"), now)).toBe(undefined);
  });
});
