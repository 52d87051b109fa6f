import { useQuery } from "@tanstack/react-query";
import { api, dataOf } from "../api/client";
import { Empty, Failure, Loading, Status, Time, shortSha } from "../components/ui";

/** Each GitHub delivery and what came of it: why a push did or did not build. */
export function Deliveries() {
  const deliveries = useQuery({
    queryKey: ["webhook-deliveries"],
    queryFn: async () => dataOf(await api.GET("/api/webhook-deliveries", { params: { query: { limit: 100 } } })),
    refetchInterval: 10_000,
  });
  return (
    <>
      <h1>Webhook deliveries</h1>
      {deliveries.isPending && <Loading what="deliveries" />}
      {deliveries.isError && <Failure error={deliveries.error} retry={() => deliveries.refetch()} />}
      {deliveries.data?.length === 0 && <Empty>No deliveries from GitHub yet.</Empty>}
      {deliveries.data && deliveries.data.length > 0 && (
        <div className="scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Received</th>
                <th scope="col">Event</th>
                <th scope="col">Ref</th>
                <th scope="col">Outcome</th>
                <th scope="col">Why</th>
                <th scope="col">Builds</th>
              </tr>
            </thead>
            <tbody>
              {deliveries.data.map((delivery) => (
                <tr key={delivery.deliveryId}>
                  <td>
                    <Time at={delivery.receivedAt} />
                  </td>
                  <td>
                    {delivery.event}
                    {delivery.action && `.${delivery.action}`}
                  </td>
                  <td className="wrap">
                    {delivery.ref && <code>{delivery.ref}</code>}{" "}
                    {delivery.headSha && <code>{shortSha(delivery.headSha)}</code>}
                  </td>
                  <td>
                    <Status value={delivery.outcome} />
                  </td>
                  <td className="wrap">{delivery.reason}</td>
                  <td>{delivery.buildsCreated}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
