// Replicas of a deployment as a kind of leased work (work/kind.ts): one item per replica, taken by
// an agent that deploys. An item its agent gave up (lease expired, agent stopped) is started again,
// by another agent when its host is gone; a container it may have left behind is removed when that
// host reports its containers (replica-inventory.ts). When a deployment's last item ends, the
// deployment ends too.
import { sql, type Transaction } from "kysely";
import type { DeploySpec } from "@slipway/proto";
import type { Database, DeployItemStatus, DeployWorkItem } from "../db/schema.js";
import { invalid } from "../errors.js";
import type { WorkEnding, WorkKind, WorkReport, WorkTable } from "../work/kind.js";
import { moveWork } from "../work/sql/move.js";
import { healthCheckMessage, type HealthCheckSettings } from "./health-check.js";
import type { SecretBox } from "../crypto/secret-box.js";
import { sealedEnvironment, openEnvironment } from "../settings/environment.js";
import { UnrunnableWorkError } from "../work/kind.js";

const LEASED_DEPLOY_ITEM_STATUSES = ["claimed", "pulling", "starting"] as const satisfies DeployItemStatus[];

export const DEPLOY_TABLE: WorkTable = {
  name: "deploy",
  table: "deploy_work_items",
  statusType: "deploy_item_status",
  history: { table: "deploy_item_status_history", workColumn: "deploy_item_id" },
  leased: LEASED_DEPLOY_ITEM_STATUSES,
  phases: { pulling: ["claimed"], starting: ["claimed", "pulling"] },
  claimOrder: sql`created_at, replica_index`,
  // An agent of the service's organisation carrying every label the service asks of its deployers.
  owner: {
    column: "deployment_id",
    rows: sql`SELECT d.id, p.org_id, s.deploy_agent_labels AS labels
              FROM deployments d JOIN services s ON s.id = d.service_id JOIN projects p ON p.id = s.project_id
              WHERE d.finished_at IS NULL`,
  },
  cancellable: false,
  requeue: true,
  givenUpStatus: "lost",
  onClaim: sql`UPDATE deployments d SET status = 'in_progress'
               FROM claimed WHERE d.id = claimed.deployment_id AND d.status = 'pending'`,
  details: (item) => sql`(
    SELECT json_build_object('projectId', s.project_id, 'serviceId', s.id, 'imageRef', d.image_ref,
                             'containerPort', s.container_port, 'sequence', d.sequence,
                             'healthCheck', s.health_check, 'variables', ${sealedEnvironment(sql`s`)})
    FROM deployments d JOIN services s ON s.id = d.service_id WHERE d.id = ${item}.deployment_id)`,
};

interface DeployDetails {
  projectId: string;
  serviceId: string;
  imageRef: string;
  containerPort: number;
  sequence: number;
  healthCheck: Partial<HealthCheckSettings>;
  /** The service's effective variables, sealed: name → base64 of the sealed value. */
  variables: Record<string, string> | null;
}

interface DeployResult {
  containerId?: unknown;
  host?: unknown;
  port?: unknown;
}

export interface DeployWorkOptions {
  /** Opens the services' variables (settings/), which travel sealed until the spec is made. */
  secretBox: SecretBox;
}

export function deployWork({ secretBox }: DeployWorkOptions): WorkKind<DeployWorkItem, DeploySpec> {
  return {
    ...DEPLOY_TABLE,
    capability: "deploy",
    spec(item, details): DeploySpec {
      const { projectId, serviceId, imageRef, containerPort, sequence, healthCheck, variables } =
        details as DeployDetails;
      let env: Record<string, string>;
      try {
        env = openEnvironment(secretBox, variables ?? {});
      } catch {
        // Every try would fail the same way: the replica fails at once, saying why (never a value).
        throw new UnrunnableWorkError(
          "cannot open the service's variables and secrets: was SLIPWAY_SECRET_KEY changed without " +
            "SLIPWAY_SECRET_KEY_PREVIOUS? Set the old key there, or set the variables again",
        );
      }
      return {
        projectId,
        serviceId,
        deploymentId: item.deployment_id,
        replicaIndex: item.replica_index,
        imageRef,
        containerPort,
        // The service's variables over its project's; PORT is always the port Slipway routes to.
        env: { ...env, PORT: String(containerPort) },
        deploymentSequence: sequence,
        healthCheck: healthCheckMessage(healthCheck),
      };
    },
    ending(report: WorkReport): WorkEnding {
      if (report.outcome === "succeeded") {
        const { containerId, host, port } = (report.result ?? {}) as DeployResult;
        if (
          typeof containerId !== "string" ||
          !containerId ||
          typeof host !== "string" ||
          !host ||
          typeof port !== "number" ||
          !Number.isInteger(port) ||
          port < 1 ||
          port > 65535
        ) {
          throw invalid("a running replica needs its container id, host and port");
        }
        return {
          status: "running",
          reason: null,
          set: { container_id: containerId, endpoint_host: host, endpoint_port: port, unrouted_at: null },
        };
      }
      return { status: report.outcome === "failed" ? "failed" : "cancelled", reason: report.error };
    },
    onEnded: {
      statuses: ["running", "failed", "cancelled", "lost"],
      run: (trx, items) => settleDeployments(trx, [...new Set(items.map((item) => item.deployment_id))]),
    },
  };
}

/**
 * Ends each deployment whose items have all ended: succeeded when every replica runs (and the
 * service's older running replicas become superseded), failed otherwise; superseded, with its
 * replicas, when a newer deployment of the service already succeeded (an older one finishing late
 * never takes the service back). A no-op for a deployment with a replica still on its way.
 */
export async function settleDeployments(trx: Transaction<Database>, deploymentIds: readonly string[]): Promise<void> {
  for (const deploymentId of deploymentIds) {
    const deployment = await trx
      .selectFrom("deployments")
      .selectAll()
      .where("id", "=", deploymentId)
      .forUpdate()
      .executeTakeFirstOrThrow();
    const items = await trx
      .selectFrom("deploy_work_items")
      .select(["status", "status_reason"])
      .where("deployment_id", "=", deploymentId)
      .execute();
    const unfinished = items.some(
      (i) => i.status === "pending" || (LEASED_DEPLOY_ITEM_STATUSES as readonly string[]).includes(i.status),
    );
    if (unfinished || deployment.finished_at) continue;
    const newer = await trx
      .selectFrom("deployments")
      .select("sequence")
      .where("service_id", "=", deployment.service_id)
      .where("sequence", ">", deployment.sequence)
      .where("status", "=", "succeeded")
      .executeTakeFirst();
    const failure = items.find((i) => i.status !== "running" && i.status !== "superseded");
    const overtaken = !failure && (newer !== undefined || items.some((i) => i.status === "superseded"));
    await trx
      .updateTable("deployments")
      .set({
        status: failure ? "failed" : overtaken ? "cancelled" : "succeeded",
        reason: failure
          ? `replica ${failure.status}: ${failure.status_reason ?? "no reason given"}`
          : overtaken
            ? "superseded by a newer deployment before it finished"
            : null,
        finished_at: sql<Date>`now()`,
      })
      .where("id", "=", deploymentId)
      .execute();
    // Overtaken by a deployment still on its way: that one supersedes these replicas when it succeeds.
    if (failure || (overtaken && !newer)) continue;
    // The newest replicas serve: those of older deployments (this one too, when a newer one
    // succeeded while it ran) are superseded.
    const servingSequence = newer?.sequence ?? deployment.sequence;
    await moveWork(trx, DEPLOY_TABLE, {
      where: sql<boolean>`t.deployment_id IN (
        SELECT id FROM deployments WHERE service_id = ${deployment.service_id} AND sequence < ${servingSequence})`,
      from: ["running"],
      to: "superseded",
      reason: `superseded by a newer deployment of the service`,
      actor: `deployment:${deploymentId}`,
      ends: false,
    });
  }
}
