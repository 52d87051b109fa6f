// A service: where it answers, what it runs (current deployment, each replica), Deploy, its
// deployments (each can be deployed again: rollback) and builds, restart / stop / start.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, useNavigate, useParams } from "react-router-dom";
import { api, dataOf } from "../api/client";
import type { Deployment, Service } from "../api/types";
import { TERMINAL_BUILD, TERMINAL_DEPLOYMENT } from "../api/types";
import { Empty, Failure, Loading, Status, Time, shortSha } from "../components/ui";

export function ServicePage() {
  const { serviceId = "" } = useParams();
  const path = { serviceId };
  const service = useQuery({
    queryKey: ["services", serviceId],
    queryFn: async () => dataOf(await api.GET("/api/services/{serviceId}", { params: { path } })),
    refetchInterval: 5_000,
  });
  const deployments = useQuery({
    queryKey: ["services", serviceId, "deployments"],
    queryFn: async () =>
      dataOf(await api.GET("/api/services/{serviceId}/deployments", { params: { path, query: { limit: 20 } } })),
    // Faster while a deployment is under way.
    refetchInterval: (query) =>
      query.state.data?.some((d) => !TERMINAL_DEPLOYMENT.includes(d.status)) ? 1_500 : 5_000,
  });
  const builds = useQuery({
    queryKey: ["services", serviceId, "builds"],
    queryFn: async () => dataOf(await api.GET("/api/builds", { params: { query: { serviceId, limit: 10 } } })),
    refetchInterval: (query) => (query.state.data?.some((b) => !TERMINAL_BUILD.includes(b.status)) ? 1_500 : 5_000),
  });

  if (service.isPending) return <Loading what="the service" />;
  if (service.isError) return <Failure error={service.error} retry={() => service.refetch()} />;
  const current = deployments.data?.find((d) => d.id === service.data.currentDeploymentId);

  return (
    <>
      <p className="crumbs">
        <Link to="/">Projects</Link> /
      </p>
      <h1>{service.data.name}</h1>
      <p className="wrap">
        <a href={service.data.url} target="_blank" rel="noreferrer" data-testid="service-url">
          {service.data.url}
        </a>{" "}
        · branch <code>{service.data.branch}</code> · {service.data.replicas} replica(s)
        {service.data.stopped && (
          <>
            {" "}
            · <Status value="stopped" />
          </>
        )}
      </p>
      <Operations service={service.data} />
      <section className="card" aria-labelledby="current">
        <h2 id="current">Current deployment</h2>
        {deployments.isPending && <Loading what="deployments" />}
        {!deployments.isPending && !current && (
          <Empty>Nothing deployed yet. Press Deploy to build the branch head.</Empty>
        )}
        {current && <Replicas deployment={current} />}
      </section>
      <section className="card" aria-labelledby="deployments">
        <h2 id="deployments">Deployments</h2>
        {deployments.isError && <Failure error={deployments.error} retry={() => deployments.refetch()} />}
        {deployments.data?.length === 0 && <Empty>No deployments yet.</Empty>}
        {deployments.data && deployments.data.length > 0 && (
          <DeploymentTable service={service.data} deployments={deployments.data} />
        )}
      </section>
      <section className="card" aria-labelledby="builds">
        <h2 id="builds">Builds</h2>
        {builds.isPending && <Loading what="builds" />}
        {builds.isError && <Failure error={builds.error} retry={() => builds.refetch()} />}
        {builds.data?.length === 0 && <Empty>No builds yet.</Empty>}
        {builds.data && builds.data.length > 0 && (
          <table>
            <thead>
              <tr>
                <th scope="col">Build</th>
                <th scope="col">Commit</th>
                <th scope="col">Status</th>
                <th scope="col">Started</th>
              </tr>
            </thead>
            <tbody>
              {builds.data.map((build) => (
                <tr key={build.id}>
                  <td>
                    <Link to={`/builds/${build.id}`}>{build.trigger} build</Link>
                  </td>
                  <td className="wrap">
                    <code>{shortSha(build.commitSha)}</code> {build.commitMessage.split("\n")[0]}
                  </td>
                  <td>
                    <Status value={build.status} />
                  </td>
                  <td>
                    <Time at={build.createdAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}

function useServiceChange(serviceId: string) {
  const queries = useQueryClient();
  return () => queries.invalidateQueries({ queryKey: ["services", serviceId] });
}

function Operations({ service }: { service: Service }) {
  const navigate = useNavigate();
  const changed = useServiceChange(service.id);
  const path = { serviceId: service.id };
  const deploy = useMutation({
    mutationFn: async () => {
      const answer = await api.POST("/api/services/{serviceId}/deployments", { params: { path }, body: {} });
      return answer.data as { deployment?: Deployment; build?: { id: string } } | undefined;
    },
    onSuccess: (answer) => {
      void changed();
      // 202: the branch head is being built, and deploys when it completes: follow its build.
      if (answer?.build) navigate(`/builds/${answer.build.id}`);
    },
  });
  const operate = useMutation({
    mutationFn: async (operation: "restart" | "stop" | "start") => {
      const route = `/api/services/{serviceId}/${operation}` as const;
      await api.POST(route, { params: { path }, body: {} });
    },
    onSuccess: () => changed(),
  });
  const busy = deploy.isPending || operate.isPending;
  return (
    <div className="actions">
      <button type="button" className="primary" disabled={busy} onClick={() => deploy.mutate()}>
        {deploy.isPending ? "Deploying…" : "Deploy"}
      </button>
      {service.stopped ? (
        <button type="button" disabled={busy} onClick={() => operate.mutate("start")}>
          Start
        </button>
      ) : (
        <>
          <button
            type="button"
            disabled={busy || !service.currentDeploymentId}
            onClick={() => operate.mutate("restart")}
          >
            Restart
          </button>
          <button type="button" disabled={busy} onClick={() => operate.mutate("stop")}>
            Stop
          </button>
        </>
      )}
      {deploy.isError && <Failure error={deploy.error} />}
      {operate.isError && <Failure error={operate.error} />}
      {deploy.data?.deployment && (
        <span className="muted" role="status">
          Deployment #{deploy.data.deployment.sequence} started.
        </span>
      )}
    </div>
  );
}

function Replicas({ deployment }: { deployment: Deployment }) {
  return (
    <>
      <p>
        #{deployment.sequence} · <Status value={deployment.status} /> · build{" "}
        <Link to={`/builds/${deployment.buildId}`}>{deployment.buildId.slice(0, 8)}</Link> · {deployment.trigger}
        {deployment.triggerReason && <> ({deployment.triggerReason})</>} · <Time at={deployment.createdAt} />
      </p>
      {deployment.replicas.length === 0 ? (
        <Empty>No replicas (stopped).</Empty>
      ) : (
        <ul className="replicas">
          {deployment.replicas.map((replica) => (
            <li key={replica.replicaIndex}>
              Replica {replica.replicaIndex}: <Status value={replica.status} />
              {replica.endpoint && <code> {replica.endpoint}</code>}
              {replica.statusReason && <span className="muted"> — {replica.statusReason}</span>}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

function DeploymentTable({ service, deployments }: { service: Service; deployments: Deployment[] }) {
  const changed = useServiceChange(service.id);
  const rollback = useMutation({
    mutationFn: async (buildId: string) => {
      await api.POST("/api/services/{serviceId}/deployments", {
        params: { path: { serviceId: service.id } },
        body: { buildId, reason: "deployed again from the dashboard" },
      });
    },
    onSuccess: () => changed(),
  });
  const current = deployments.find((d) => d.id === service.currentDeploymentId);
  return (
    <>
      {rollback.isError && <Failure error={rollback.error} />}
      <table>
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">Status</th>
            <th scope="col">Why</th>
            <th scope="col">Build</th>
            <th scope="col">When</th>
            <th scope="col">
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {deployments.map((deployment) => (
            <tr key={deployment.id}>
              <td>{deployment.sequence}</td>
              <td>
                <Status value={deployment.status} />
                {deployment.reason && <div className="muted small">{deployment.reason}</div>}
              </td>
              <td>
                {deployment.trigger} · {deployment.createdBy}
              </td>
              <td>
                <Link to={`/builds/${deployment.buildId}`}>{deployment.buildId.slice(0, 8)}</Link>
              </td>
              <td>
                <Time at={deployment.createdAt} />
              </td>
              <td>
                {deployment.status === "succeeded" &&
                  deployment.replicaCount > 0 &&
                  deployment.buildId !== current?.buildId && (
                    <button
                      type="button"
                      disabled={rollback.isPending}
                      onClick={() => rollback.mutate(deployment.buildId)}
                    >
                      Deploy this build
                    </button>
                  )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
