// Prometheus metrics of one control plane. Counters and histograms are fed where things happen;
// gauges (connected agents, queue depth) are read when Prometheus scrapes.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { sql } from "kysely";
import type { Db } from "../db/database.js";
import type { WorkTable } from "../work/kind.js";

export class Metrics {
  readonly registry = new Registry();

  readonly claimSeconds = new Histogram({
    name: "slipway_claim_duration_seconds",
    help: "Time to answer a Claim RPC",
    labelNames: ["result"],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [this.registry],
  });

  readonly dispatchSeconds = new Histogram({
    name: "slipway_dispatch_latency_seconds",
    help: "Time from work being queued to an agent holding its first claim",
    buckets: [0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly leaseExpiries = new Counter({
    name: "slipway_lease_expiries_total",
    help: "Leases the reaper ended, by kind and outcome",
    labelNames: ["kind", "outcome"],
    registers: [this.registry],
  });

  readonly cancels = new Counter({
    name: "slipway_cancels_total",
    help: "Cancellations requested, by how they were applied",
    labelNames: ["outcome"],
    registers: [this.registry],
  });

  readonly logBytes = new Counter({
    name: "slipway_log_bytes_total",
    help: "Build log bytes stored",
    registers: [this.registry],
  });

  readonly webhookDeliveries = new Counter({
    name: "slipway_webhook_deliveries_total",
    help: "GitHub webhook deliveries by event and outcome",
    labelNames: ["event", "outcome"],
    registers: [this.registry],
  });

  constructor(db: Db, kinds: readonly WorkTable[], connectedAgents: () => number) {
    collectDefaultMetrics({ register: this.registry, prefix: "slipway_process_" });
    new Gauge({
      name: "slipway_connected_agents",
      help: "Agents with an open session stream to this control plane",
      registers: [this.registry],
      collect() {
        this.set(connectedAgents());
      },
    });
    new Gauge({
      name: "slipway_queue_depth",
      help: "Work waiting for an agent, by kind",
      labelNames: ["kind"],
      registers: [this.registry],
      async collect() {
        const { rows } = await sql<{ kind: string; pending: string }>`${sql.join(
          kinds.map(
            (kind) =>
              sql`SELECT ${kind.name}::text AS kind, count(*) AS pending FROM ${sql.table(kind.table)} WHERE status = 'pending'`,
          ),
          sql` UNION ALL `,
        )}`.execute(db);
        for (const row of rows) this.set({ kind: row.kind }, Number(row.pending));
      },
    });
  }
}
