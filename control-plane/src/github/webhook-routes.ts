// POST /api/webhooks/github. Verify first, over the raw bytes; decide without I/O; write the delivery
// and its builds in one transaction; answer at once. Anything slow happens later, on agents.
import type { FastifyPluginAsync } from "fastify";
import type { Db } from "../db/database.js";
import type { GitHubAppStore } from "./app-credentials.js";
import type { Metrics } from "../metrics/metrics.js";
import { countRejection, recordDelivery } from "./deliveries.js";
import { applyInstallationEvent, applyInstallationRepositoriesEvent } from "./installation-events.js";
import type { PushRecorder } from "./push-recorder.js";
import { PayloadError, parsePushEvent } from "./push-event.js";
import { isValidSignature } from "./signature.js";

/** GitHub caps webhook payloads at 25 MB. */
export const MAX_WEBHOOK_BYTES = 25 * 1024 * 1024;

const DELIVERY_ID = /^[0-9a-zA-Z-]{1,100}$/;
const EVENT_NAME = /^[a-z_]{1,64}$/;

export const githubWebhookRoutes: FastifyPluginAsync<{
  db: Db;
  appStore: GitHubAppStore;
  metrics: Metrics;
  pushes: PushRecorder;
}> = async (app, { db, appStore, metrics, pushes }) => {
  app.addHook("onSend", async (request, reply) => {
    const event = request.headers["x-github-event"];
    const outcome = reply.statusCode >= 400 ? `rejected_${reply.statusCode}` : "accepted";
    metrics.webhookDeliveries.inc({ event: typeof event === "string" ? event.slice(0, 64) : "unknown", outcome });
  });
  // Keep the body as bytes: the signature covers exactly what GitHub sent.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer", bodyLimit: MAX_WEBHOOK_BYTES }, (_request, body, done) =>
    done(null, body),
  );

  // Every delivery is kept with its outcome and reason in webhook_deliveries, so per-request log
  // lines (thousands a second under load) would only repeat it: warnings and errors only.
  // Public: the HMAC signature, not a user, authenticates GitHub.
  const routeOptions = {
    bodyLimit: MAX_WEBHOOK_BYTES,
    logLevel: "warn" as const,
    config: { access: "public" as const },
    schema: { hide: true },
  };
  app.post("/webhooks/github", routeOptions, async (request, reply) => {
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const signature = request.headers["x-hub-signature-256"];
    if (typeof signature !== "string") {
      await countRejection(db, "missing signature");
      return reply.status(401).send({ error: "missing X-Hub-Signature-256", statusCode: 401 });
    }
    const secrets = await appStore.webhookSecrets();
    if (!secrets.some((secret) => isValidSignature(secret, body, signature))) {
      await countRejection(db, "bad signature");
      return reply.status(401).send({ error: "signature does not match", statusCode: 401 });
    }

    const event = request.headers["x-github-event"];
    const deliveryId = request.headers["x-github-delivery"];
    if (typeof event !== "string" || !EVENT_NAME.test(event)) {
      return reply.status(400).send({ error: "missing or malformed X-GitHub-Event", statusCode: 400 });
    }
    if (typeof deliveryId !== "string" || !DELIVERY_ID.test(deliveryId)) {
      return reply.status(400).send({ error: "missing or malformed X-GitHub-Delivery", statusCode: 400 });
    }
    if (!String(request.headers["content-type"] ?? "").startsWith("application/json")) {
      return reply.status(415).send({ error: "webhooks must be sent as application/json", statusCode: 415 });
    }

    let payload: unknown;
    try {
      payload = JSON.parse(body.toString("utf8"));
    } catch {
      return reply.status(400).send({ error: "body is not valid JSON", statusCode: 400 });
    }
    const action =
      typeof (payload as { action?: unknown })?.action === "string" ? (payload as { action: string }).action : null;

    if (event === "push") {
      let push;
      try {
        push = parsePushEvent(payload);
      } catch (error) {
        if (error instanceof PayloadError) return reply.status(400).send({ error: error.message, statusCode: 400 });
        throw error;
      }
      const result = await pushes.record(deliveryId, push);
      request.log.info({ deliveryId, outcome: result.outcome, builds: result.buildIds.length }, result.reason);
      return reply.status(result.duplicate ? 200 : 202).send({ deliveryId, ...result });
    }

    if (event === "installation" || event === "installation_repositories") {
      const apply = event === "installation" ? applyInstallationEvent : applyInstallationRepositoriesEvent;
      let result;
      try {
        result = await apply(db, deliveryId, payload);
      } catch (error) {
        if (error instanceof PayloadError) return reply.status(400).send({ error: error.message, statusCode: 400 });
        throw error;
      }
      request.log.info({ deliveryId, event, action }, result.reason);
      return reply.status(result.duplicate ? 200 : 202).send({
        deliveryId,
        duplicate: result.duplicate,
        outcome: "applied",
        reason: result.reason,
        buildIds: [],
      });
    }

    const reason = event === "ping" ? "ping received" : `event ${event} is not handled`;
    const fresh = await recordDelivery(db, { deliveryId, event, action, outcome: "ignored", reason });
    return reply.status(event === "ping" ? 200 : 202).send({
      deliveryId,
      duplicate: !fresh,
      outcome: "ignored",
      reason,
      buildIds: [],
    });
  });
};
