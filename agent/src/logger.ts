// The logger the agent's parts write to: main.ts builds the real one (JSON lines on stdout/stderr).
// Its own module, so a part that only logs need not import the runner that hands it the logger.
export interface AgentLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}
