// Small shared pieces: loading / error / empty states, status badges, times.
import type { ReactNode } from "react";

export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

export function Failure({ error, retry }: { error: unknown; retry?: () => void }) {
  const message = error instanceof Error ? error.message : String(error);
  return (
    <div className="error" role="alert">
      <span>{message}</span>
      {retry && (
        <button type="button" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

const TONE: Record<string, string> = {
  completed: "ok",
  succeeded: "ok",
  running: "ok",
  failed: "bad",
  cancelled: "neutral",
  stopped: "neutral",
  pending: "wait",
};

export function Status({ value }: { value: string }) {
  return (
    <span className={`badge badge-${TONE[value] ?? "busy"}`} data-status={value}>
      {value}
    </span>
  );
}

export function Time({ at }: { at: string | null | undefined }) {
  if (!at) return <span className="muted">—</span>;
  const date = new Date(at);
  return (
    <time dateTime={at} title={date.toISOString()}>
      {date.toLocaleString()}
    </time>
  );
}

export const shortSha = (sha: string) => sha.slice(0, 8);
