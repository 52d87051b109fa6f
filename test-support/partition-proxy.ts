// A TCP relay between an agent and a control plane that can be cut and healed, to stage network
// partitions. While cut, nothing crosses in either direction but no connection is closed, as when
// packets are dropped on the way: bytes wait in the kernels' buffers (TCP would retransmit them),
// new connections are accepted and left hanging, and each side only learns of the partition by its
// own timeouts. Healing lets everything through again.
import { connect, createServer, type Socket } from "node:net";

export interface PartitionProxy {
  /** host:port for the agent to dial instead of the control plane. */
  address: string;
  cut(): void;
  heal(): void;
  close(): Promise<void>;
}

export async function startPartitionProxy(target: string): Promise<PartitionProxy> {
  const at = target.lastIndexOf(":");
  const [host, port] = [target.slice(0, at), Number(target.slice(at + 1))];
  let cut = false;
  const sockets = new Set<Socket>();
  const waiting: (() => void)[] = [];

  /** Copies one way, pausing the source while cut or while the destination is full. */
  const relay = (from: Socket, to: Socket) => {
    from.on("data", (chunk) => {
      if (!to.write(chunk) || cut) from.pause();
    });
    to.on("drain", () => {
      if (!cut) from.resume();
    });
    from.on("end", () => to.end());
    from.on("error", () => to.destroy());
    from.on("close", () => to.destroy());
  };

  const server = createServer((client) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    const join = () => {
      const upstream = connect(port, host);
      sockets.add(upstream);
      upstream.on("close", () => sockets.delete(upstream));
      relay(client, upstream);
      relay(upstream, client);
    };
    client.pause();
    if (cut) waiting.push(join);
    else join();
    if (!cut) client.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port: listening } = server.address() as { port: number };

  return {
    address: `127.0.0.1:${listening}`,
    cut() {
      cut = true;
      for (const socket of sockets) socket.pause();
    },
    heal() {
      cut = false;
      for (const join of waiting.splice(0)) join();
      for (const socket of sockets) socket.resume();
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
