export { AgentRunner } from "./agent-runner.js";
export { loadConfig, type AgentConfig } from "./config.js";
export { LogShipper } from "./logs/log-shipper.js";
export { runProcess, ProcessError } from "./runtime/process.js";
export { certificateRequest, generatePrivateKey } from "./channel/certificates.js";
export { fullJitterDelay } from "./channel/backoff.js";
