// The BullMQ queue of GitHub side effects. A scheduler job reconciles every few seconds (one run
// across all control planes) and enqueues one sync job per lagging build; the job id dedupes them,
// so a build has at most one sync queued or running at a time.
import { createHash } from "node:crypto";
import { Queue, Worker, type Job } from "bullmq";
import { Redis } from "ioredis";
import type { FastifyBaseLogger } from "fastify";
import type { Db } from "../db/database.js";
import type { GitHubApi } from "../github/github-api.js";
import { GitHubNotConfiguredError } from "../github/github-api.js";
import { laggingDeployments, recordSyncFailure, syncDeployment } from "../github/deployment-sync.js";

export const GITHUB_QUEUE = "github";

export interface GitHubJobsOptions {
  redisUrl: string;
  databaseUrl: string;
  publicUrl: string;
  intervalSeconds: number;
}

/** Control planes on the same database share a queue; test stacks on other databases do not. */
export function queuePrefix(databaseUrl: string): string {
  return `slipway-${createHash("sha256").update(databaseUrl).digest("hex").slice(0, 12)}`;
}

/** How long GitHub asks us to wait, from a rate-limited response's headers; undefined if not rate limited. */
export function rateLimitDelayMs(error: unknown, now = Date.now()): number | undefined {
  const e = error as { status?: number; response?: { headers?: Record<string, string | undefined> } };
  if (e.status !== 403 && e.status !== 429) return undefined;
  const headers = e.response?.headers ?? {};
  const retryAfter = Number(headers["retry-after"]);
  if (Number.isFinite(retryAfter) && retryAfter > 0) return retryAfter * 1000;
  if (headers["x-ratelimit-remaining"] === "0") {
    const reset = Number(headers["x-ratelimit-reset"]) * 1000;
    return Number.isFinite(reset) ? Math.max(1000, reset - now + 1000) : 60_000;
  }
  return e.status === 429 ? 60_000 : undefined;
}

export class GitHubJobs {
  private readonly connection: Redis;
  private readonly queue: Queue;
  private readonly worker: Worker;

  constructor(
    private readonly db: Db,
    private readonly github: GitHubApi,
    private readonly options: GitHubJobsOptions,
    private readonly log: FastifyBaseLogger,
  ) {
    // BullMQ workers block on Redis; they need a connection that never gives up on a request.
    this.connection = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
    this.connection.on("error", () => {});
    const prefix = queuePrefix(options.databaseUrl);
    this.queue = new Queue(GITHUB_QUEUE, {
      connection: this.connection,
      prefix,
      defaultJobOptions: {
        attempts: 8,
        backoff: { type: "exponential", delay: 1000 },
        removeOnComplete: true,
        removeOnFail: true,
      },
    });
    this.worker = new Worker(GITHUB_QUEUE, (job) => this.process(job), {
      connection: this.connection.duplicate(),
      prefix,
      concurrency: 4,
      autorun: false,
    });
    this.worker.on("error", (error) => this.log.warn({ err: error }, "github job worker error"));
  }

  async start(): Promise<void> {
    await this.queue.upsertJobScheduler(
      "reconcile",
      { every: this.options.intervalSeconds * 1000 },
      { name: "reconcile" },
    );
    void this.worker.run();
  }

  async stop(): Promise<void> {
    await this.worker.close();
    await this.queue.close();
    this.connection.disconnect();
  }

  private async process(job: Job): Promise<void> {
    if (job.name === "reconcile") {
      for (const buildId of await laggingDeployments(this.db, 200)) {
        await this.queue.add("sync-deployment", { buildId }, { jobId: `sync-${buildId}` });
      }
      return;
    }
    const { buildId } = job.data as { buildId: string };
    try {
      await syncDeployment(this.db, this.github, buildId, { publicUrl: this.options.publicUrl });
    } catch (error) {
      if (error instanceof GitHubNotConfiguredError) return; // nothing to do until an app exists
      const wait = rateLimitDelayMs(error);
      await recordSyncFailure(this.db, buildId, (error as Error).message);
      if (wait !== undefined) {
        this.log.warn({ buildId, waitMs: wait }, "GitHub rate limit reached; pausing GitHub jobs");
        await this.worker.rateLimit(wait);
        throw Worker.RateLimitError();
      }
      throw error;
    }
  }
}
