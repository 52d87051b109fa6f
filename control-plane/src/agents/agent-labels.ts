// Labels describe an agent (`region=eu`, `arch=arm64`); a service may require some of them of the
// agents that build or deploy it. One schema serves both, so a label a service asks for can always
// be one an agent carries.
import { Type, type Static } from "typebox";
import { TEXT_PATTERN } from "../patterns.js";

export const AgentLabels = Type.Record(
  Type.String({ pattern: "^[a-z0-9][a-z0-9._/-]{0,62}$" }),
  Type.String({ maxLength: 255, pattern: TEXT_PATTERN }),
  // A key that fails its pattern must be refused, not passed through unchecked.
  { maxProperties: 32, additionalProperties: false },
);
export type AgentLabels = Static<typeof AgentLabels>;

/** `region=eu, arch=arm64`, for messages. */
export const describeLabels = (labels: Record<string, string>): string =>
  Object.entries(labels)
    .map(([key, value]) => `${key}=${value}`)
    .join(", ");
