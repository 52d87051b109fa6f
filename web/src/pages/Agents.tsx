import { useQuery } from "@tanstack/react-query";
import { api, dataOf } from "../api/client";
import type { Agent } from "../api/types";
import { Empty, Failure, Loading, Status, Time } from "../components/ui";

const stateOf = (agent: Agent) =>
  agent.revokedAt ? "revoked" : agent.drainedAt ? "drained" : agent.enrolledAt ? "enrolled" : "pending";

export function Agents() {
  const agents = useQuery({
    queryKey: ["agents"],
    queryFn: async () => dataOf(await api.GET("/api/agents")),
    refetchInterval: 5_000,
  });
  return (
    <>
      <h1>Agents</h1>
      {agents.isPending && <Loading what="agents" />}
      {agents.isError && <Failure error={agents.error} retry={() => agents.refetch()} />}
      {agents.data?.length === 0 && <Empty>No agents yet. Enrol one with POST /api/agents (see the README).</Empty>}
      {agents.data && agents.data.length > 0 && (
        <div className="scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Agent</th>
                <th scope="col">State</th>
                <th scope="col">Capabilities</th>
                <th scope="col">Labels</th>
                <th scope="col">Slots</th>
                <th scope="col">Last seen</th>
              </tr>
            </thead>
            <tbody>
              {agents.data.map((agent) => (
                <tr key={agent.id}>
                  <td>
                    {agent.name}
                    {agent.hostname && <div className="muted small">{agent.hostname}</div>}
                  </td>
                  <td>
                    <Status value={stateOf(agent)} />
                  </td>
                  <td>{agent.capabilities.join(", ")}</td>
                  <td className="wrap">
                    {Object.entries(agent.labels).map(([key, value]) => (
                      <code key={key} className="label">
                        {key}={value}
                      </code>
                    ))}
                  </td>
                  <td>{agent.slots}</td>
                  <td>
                    <Time at={agent.lastSeenAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
