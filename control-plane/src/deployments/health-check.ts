// A service's health check: what makes a new replica healthy, so that the ingress sends it traffic
// (checked by the agent that starts it, see agent/src/runtime/health.ts).
import { Type, type Static } from "typebox";
import type { HealthCheck as HealthCheckMessage } from "@slipway/proto";
import { REPO_PATH_PATTERN } from "../patterns.js";

export const HealthCheckSettings = Type.Object(
  {
    type: Type.Union([Type.Literal("http"), Type.Literal("tcp")]),
    /** For `http`: the path to GET; 200–399 is healthy. */
    path: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, pattern: `^/${REPO_PATH_PATTERN.slice(1)}` })),
    intervalMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 600_000 })),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 600_000 })),
    /** Failures in a row, after the start period, that make the replica unhealthy. */
    retries: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    /** How long failures do not count while the app starts. */
    startPeriodMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 3_600_000 })),
  },
  { additionalProperties: false },
);
export type HealthCheckSettings = Static<typeof HealthCheckSettings>;

export const DEFAULT_HEALTH_CHECK = {
  type: "http",
  path: "/",
  intervalMs: 500,
  timeoutMs: 2000,
  retries: 3,
  startPeriodMs: 60_000,
} as const satisfies Required<HealthCheckSettings>;

/** The stored settings with every default filled in, as the API shows them. */
export function completeHealthCheck(stored: Partial<HealthCheckSettings>): Required<HealthCheckSettings> {
  const type = stored.type ?? DEFAULT_HEALTH_CHECK.type;
  return {
    type,
    path: type === "http" ? (stored.path ?? DEFAULT_HEALTH_CHECK.path) : "",
    intervalMs: stored.intervalMs ?? DEFAULT_HEALTH_CHECK.intervalMs,
    timeoutMs: stored.timeoutMs ?? DEFAULT_HEALTH_CHECK.timeoutMs,
    retries: stored.retries ?? DEFAULT_HEALTH_CHECK.retries,
    startPeriodMs: stored.startPeriodMs ?? DEFAULT_HEALTH_CHECK.startPeriodMs,
  };
}

export function healthCheckMessage(stored: Partial<HealthCheckSettings>): HealthCheckMessage {
  const check = completeHealthCheck(stored);
  return {
    probe: check.type === "tcp" ? { $case: "tcp", value: true } : { $case: "httpPath", value: check.path },
    intervalMs: check.intervalMs,
    timeoutMs: check.timeoutMs,
    retries: check.retries,
    startPeriodMs: check.startPeriodMs,
  };
}
