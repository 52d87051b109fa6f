// GET /api/builds/:id/logs/stream: a build's log as Server-Sent Events, live. Each event's id is
// "attempt:seq", so a browser that reconnects (Last-Event-ID) or a client passing ?after= resumes
// exactly where it stopped. The stream ends with an `end` event once the build has finished and
// every chunk was sent.
import { EventEmitter } from "node:events";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import type { Db } from "../db/database.js";
import { Uuid } from "../projects/schemas.js";
import { readLogChunks } from "./build-logs.js";
import { getBuild } from "./build-service.js";
import { isTerminalBuildStatus } from "./build-status.js";
import { EventStream } from "../http/event-stream.js";

/** Wakes followers of a build's log; fed by the LISTEN connection (any control plane's appends). */
export class LogFollowers extends EventEmitter<Record<string, []>> {
  constructor() {
    super();
    this.setMaxListeners(0);
  }
  notify(buildId: string): void {
    this.emit(buildId);
  }
  /** After a lost LISTEN connection every follower looks again. */
  notifyAll(): void {
    for (const name of this.eventNames()) this.emit(name as string);
  }
}

const POSITION = /^(\d{1,9}):(\d{1,9})$/;
/** A safety net in case a notification is lost; followers are normally woken by NOTIFY. */
const RECHECK_MS = 2000;

export const logStreamRoutes: FastifyPluginAsyncTypebox<{ db: Db; followers: LogFollowers }> = async (
  app,
  { db, followers },
) => {
  app.get(
    "/builds/:buildId/logs/stream",
    {
      config: { access: "viewer" },
      schema: {
        tags: ["builds"],
        params: Type.Object({ buildId: Uuid }),
        querystring: Type.Object({ after: Type.Optional(Type.String({ pattern: POSITION.source })) }),
      },
    },
    async (request, reply) => {
      const build = await getBuild(db, request.actor.orgId, request.params.buildId);
      const resumeFrom = request.query.after ?? String(request.headers["last-event-id"] ?? "");
      const match = POSITION.exec(resumeFrom);
      let position = { attempt: match ? Number(match[1]) : 0, seq: match ? Number(match[2]) : 0 };

      const stream = new EventStream(request, reply);
      stream.start();
      let wake: () => void = () => {};
      const onLog = () => wake();
      followers.on(build.id, onLog);
      stream.onClose(() => wake());
      try {
        while (!stream.closed) {
          const chunks = await readLogChunks(db, build.id, position, 200);
          for (const chunk of chunks) {
            await stream.send("log", chunk.text, `${chunk.attempt}:${chunk.seq}`);
            position = { attempt: chunk.attempt, seq: chunk.seq };
          }
          if (chunks.length === 200) continue;
          const current = await getBuild(db, request.actor.orgId, build.id);
          if (isTerminalBuildStatus(current.status)) {
            // One last read: chunks stored just before the build ended.
            if ((await readLogChunks(db, build.id, position, 1)).length > 0) continue;
            await stream.send("end", JSON.stringify({ status: current.status }));
            break;
          }
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, RECHECK_MS);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
        }
      } finally {
        followers.off(build.id, onLog);
        stream.end();
      }
    },
  );
};
