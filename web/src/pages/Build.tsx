// A build: why it failed (first), what it waits for, its status timeline, its log live over SSE
// with follow/pause and ANSI colours, Cancel while it runs and Retry once it ended.
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, useNavigate, useParams } from "react-router-dom";
import { AnsiUp } from "ansi_up";
import { api, dataOf } from "../api/client";
import { TERMINAL_BUILD, type Build } from "../api/types";
import { Failure, Loading, Status, Time, shortSha } from "../components/ui";

export function BuildPage() {
  const { buildId = "" } = useParams();
  const navigate = useNavigate();
  const queries = useQueryClient();
  const build = useQuery({
    queryKey: ["builds", buildId],
    queryFn: async () => dataOf(await api.GET("/api/builds/{buildId}", { params: { path: { buildId } } })),
    refetchInterval: (query) => (query.state.data && TERMINAL_BUILD.includes(query.state.data.status) ? false : 1_000),
  });
  const cancel = useMutation({
    mutationFn: async () => {
      await api.POST("/api/builds/{buildId}/cancel", { params: { path: { buildId } } });
    },
    onSuccess: () => queries.invalidateQueries({ queryKey: ["builds", buildId] }),
  });
  const retry = useMutation({
    mutationFn: async () =>
      (await api.POST("/api/builds/{buildId}/retry", { params: { path: { buildId } } })).data as
        { id?: string; build?: { id: string } } | undefined,
    onSuccess: (answer) => {
      const next = answer?.build?.id ?? answer?.id;
      if (next) navigate(`/builds/${next}`);
    },
  });

  if (build.isPending) return <Loading what="the build" />;
  if (build.isError) return <Failure error={build.error} retry={() => build.refetch()} />;
  const b = build.data;
  const ended = TERMINAL_BUILD.includes(b.status);

  return (
    <>
      <p className="crumbs">
        <Link to={`/services/${b.serviceId}`}>Service</Link> /
      </p>
      <h1>
        Build <code>{shortSha(b.commitSha)}</code> <Status value={b.status} />
      </h1>
      {b.status === "failed" && (
        <div className="error" role="alert" data-testid="failure-reason">
          <strong>Failed:</strong> {b.statusReason ?? "no reason recorded"}
        </div>
      )}
      {b.status === "cancelled" && b.statusReason && <p className="muted">{b.statusReason}</p>}
      {b.waitingFor && (
        <p className="notice" role="status">
          Waiting: {b.waitingFor}
        </p>
      )}
      <p className="wrap">
        {b.commitMessage && <>{b.commitMessage.split("\n")[0]} · </>}branch <code>{b.branch}</code> · {b.trigger} ·
        attempt {b.attempt}/{b.maxAttempts}
        {b.retryOf && (
          <>
            {" "}
            · retry of <Link to={`/builds/${b.retryOf}`}>{b.retryOf.slice(0, 8)}</Link>
          </>
        )}
        {b.imageRef && (
          <>
            {" "}
            · image <code>{b.imageRef}</code>
          </>
        )}
      </p>
      <div className="actions">
        {!ended && (
          <button
            type="button"
            disabled={cancel.isPending || b.cancelRequestedAt !== null}
            onClick={() => cancel.mutate()}
          >
            {b.cancelRequestedAt ? "Cancelling…" : "Cancel"}
          </button>
        )}
        {ended && (
          <button type="button" disabled={retry.isPending} onClick={() => retry.mutate()}>
            Retry
          </button>
        )}
        {cancel.isError && <Failure error={cancel.error} />}
        {retry.isError && <Failure error={retry.error} />}
      </div>
      <Timeline build={b} />
      <BuildLog buildId={b.id} />
    </>
  );
}

function Timeline({ build }: { build: Build }) {
  return (
    <section className="card" aria-labelledby="timeline">
      <h2 id="timeline">Timeline</h2>
      <ol className="timeline">
        {build.history.map((step, index) => (
          <li key={index}>
            <Status value={step.to} /> <Time at={step.at} /> <span className="muted">by {step.actor}</span>
            {step.reason && <div className="muted small">{step.reason}</div>}
          </li>
        ))}
      </ol>
    </section>
  );
}

type LogState = "connecting" | "live" | "ended" | "lost";

/** The log over GET /api/builds/:id/logs/stream; EventSource resumes by itself with Last-Event-ID. */
function BuildLog({ buildId }: { buildId: string }) {
  const [text, setText] = useState("");
  const [state, setState] = useState<LogState>("connecting");
  const [follow, setFollow] = useState(true);
  const view = useRef<HTMLPreElement>(null);

  useEffect(() => {
    setText("");
    setState("connecting");
    const source = new EventSource(`/api/builds/${encodeURIComponent(buildId)}/logs/stream`, {
      withCredentials: true,
    });
    source.onopen = () => setState("live");
    source.addEventListener("log", (event) => {
      setState("live");
      // The stream drops each chunk's final line break (SSE framing); chunks hold whole lines.
      setText((before) => before + (event as MessageEvent<string>).data + "\n");
    });
    source.addEventListener("end", () => {
      setState("ended");
      source.close();
    });
    source.onerror = () => {
      // The browser reconnects (resuming after the last event) unless the stream was refused.
      setState(source.readyState === EventSource.CLOSED ? "lost" : "connecting");
    };
    return () => source.close();
  }, [buildId]);

  const html = useMemo(() => {
    const ansi = new AnsiUp();
    ansi.escape_html = true;
    return ansi.ansi_to_html(text);
  }, [text]);

  useLayoutEffect(() => {
    if (follow && view.current) view.current.scrollTop = view.current.scrollHeight;
  }, [html, follow]);

  return (
    <section className="card" aria-labelledby="log">
      <div className="log-head">
        <h2 id="log">Log</h2>
        <span className="muted" role="status" data-testid="log-state">
          {state === "live"
            ? "streaming live"
            : state === "ended"
              ? "complete"
              : state === "lost"
                ? "disconnected"
                : "connecting…"}
        </span>
        <button type="button" aria-pressed={follow} onClick={() => setFollow(!follow)}>
          {follow ? "Pause" : "Follow"}
        </button>
      </div>
      <pre
        ref={view}
        className="log"
        tabIndex={0}
        aria-label="Build log"
        data-testid="build-log"
        onWheel={(e) => {
          if (e.deltaY < 0) setFollow(false);
        }}
        // ansi_up escapes the log's HTML; only its colour spans are markup.
        dangerouslySetInnerHTML={{ __html: html || '<span class="muted">No output yet.</span>' }}
      />
    </section>
  );
}
