// A small DNS responder from which Caddy learns each service's serving replicas (SRV records), so
// that a rollout changes no Caddy configuration at all. Every configuration change makes Caddy
// replace its listening socket and close its idle keep-alive connections; with the replicas in DNS,
// Caddy's configuration changes only when services or host names do.
//
// Names it answers (anything else: REFUSED):
//   SRV <serviceId>.upstreams.slipway.internal.  one record per serving replica, target and port
//   A   ip-10-1-2-3.upstreams.slipway.internal.  the address written in the name (replica targets)
//   A   any other name (a replica published on a host name): looked up by this host's resolver
// Caddy caches an SRV answer for `refreshMs`: a replica left out of the answers can still be picked
// for that long, which the ingress sync adds before the replica's drain period starts.
import { lookup } from "node:dns/promises";
import { createServer, isIPv4, type AddressInfo, type Server, type Socket } from "node:net";
import dnsPacket, { type Answer, type Packet, type Question } from "dns-packet";

const UPSTREAM_ZONE = "upstreams.slipway.internal";
const TTL_SECONDS = 1;

export interface UpstreamResolverOptions {
  /** host:port to listen on (TCP); port 0 picks a free one. */
  listen: string;
  /** How long Caddy keeps an SRV answer. */
  refreshMs: number;
}

/** The SRV name of a service's replicas. */
export const upstreamsName = (serviceId: string) => `${serviceId}.${UPSTREAM_ZONE}`;

/** The SRV target naming a replica's host: an IPv4 address written into a name, or the host name itself. */
function replicaTarget(host: string): string {
  return isIPv4(host) ? `ip-${host.replaceAll(".", "-")}.${UPSTREAM_ZONE}` : host;
}

export class UpstreamResolver {
  private server: Server | undefined;
  private readonly connections = new Set<Socket>();
  /** Serving replicas (host:port) per service id, as the last ingress pass read them. */
  private upstreams = new Map<string, string[]>();

  constructor(private readonly options: UpstreamResolverOptions) {}

  /** Replaces the answers: from now on, queries see exactly these replicas. */
  setUpstreams(upstreams: ReadonlyMap<string, readonly string[]>): void {
    this.upstreams = new Map([...upstreams].map(([id, dials]) => [id.toLowerCase(), [...dials]]));
  }

  /** Starts listening; resolves with the address Caddy should use (`tcp/host:port`). */
  async start(): Promise<string> {
    const separator = this.options.listen.lastIndexOf(":");
    const host = this.options.listen.slice(0, separator).replace(/^\[|\]$/g, "") || "127.0.0.1";
    const port = Number(this.options.listen.slice(separator + 1));
    const server = createServer((socket) => this.serve(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const bound = server.address() as AddressInfo;
    return `tcp/${bound.address.includes(":") ? `[${bound.address}]` : bound.address}:${bound.port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.connections) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /**
   * DNS over TCP (RFC 7766): each message framed by its 2-byte length, several per connection.
   * TCP rather than UDP because an answer with many replicas outgrows a datagram, and Caddy's
   * resolver dials the configured network for every query, so it could not fall back to TCP.
   */
  private serve(socket: Socket): void {
    this.connections.add(socket);
    socket.on("close", () => this.connections.delete(socket));
    socket.on("error", () => socket.destroy());
    socket.setTimeout(10_000, () => socket.destroy());
    let pending = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        const message = pending.subarray(2, 2 + pending.readUInt16BE(0));
        pending = pending.subarray(2 + message.length);
        void this.answer(message).then((response) => {
          if (!response) return socket.destroy(); // not DNS
          const framed = Buffer.alloc(2 + response.length);
          framed.writeUInt16BE(response.length, 0);
          response.copy(framed, 2);
          socket.write(framed);
        });
      }
      if (pending.length > 4096) socket.destroy(); // no DNS question is this long
    });
  }

  private async answer(message: Buffer): Promise<Buffer | undefined> {
    let query: Packet;
    try {
      query = dnsPacket.decode(message);
    } catch {
      return undefined;
    }
    const question = query.questions?.[0];
    let response: Packet;
    if (query.type !== "query" || !question) {
      response = { ...reply(query), rcode: "FORMERR" } as Packet;
    } else {
      const answers = await this.answersTo(question);
      response =
        answers === undefined
          ? ({ ...reply(query), rcode: "REFUSED" } as Packet)
          : ({ ...reply(query), answers } as Packet);
    }
    return dnsPacket.encode(response);
  }

  /** The records answering `question`; undefined for names this responder does not serve. */
  private async answersTo(question: Question): Promise<Answer[] | undefined> {
    const name = question.name.toLowerCase().replace(/\.$/, "");
    const record = { name: question.name, ttl: TTL_SECONDS, class: "IN" as const };
    if (name.endsWith(`.${UPSTREAM_ZONE}`)) {
      const first = name.slice(0, -UPSTREAM_ZONE.length - 1);
      const ip = /^ip-(\d{1,3})-(\d{1,3})-(\d{1,3})-(\d{1,3})$/.exec(first);
      if (ip) {
        const address = ip.slice(1).join(".");
        if (!isIPv4(address)) return [];
        return question.type === "A" ? [{ ...record, type: "A", data: address }] : [];
      }
      if (question.type !== "SRV") return [];
      return (this.upstreams.get(first) ?? []).map((dial) => {
        const separator = dial.lastIndexOf(":");
        return {
          ...record,
          type: "SRV",
          data: {
            priority: 0,
            weight: 1,
            port: Number(dial.slice(separator + 1)),
            target: replicaTarget(dial.slice(0, separator)),
          },
        } satisfies Answer;
      });
    }
    // A replica published under a host name: Caddy asks for its address here too.
    if (question.type !== "A" && question.type !== "AAAA") return undefined;
    const family = question.type === "A" ? 4 : 6;
    const addresses = await lookup(name, { all: true, family }).catch(() => []);
    return addresses.map(({ address }) => ({ ...record, type: question.type as "A", data: address }));
  }
}

const reply = (query: Packet): Packet => ({
  id: query.id,
  type: "response",
  flags: dnsPacket.AUTHORITATIVE_ANSWER | ((query.flags ?? 0) & dnsPacket.RECURSION_DESIRED),
  questions: query.questions,
  answers: [],
});
