// Keeps this host's Slipway containers in step with what the control plane wants. Every few seconds
// the agent lists the containers carrying Slipway's replica labels (nothing else on the host is
// looked at), reports them, and removes those the control plane says no deployment wants: old
// replicas after their drain period, scaled-down or stopped ones, and leftovers of replicas that
// moved while this host was away. Removal happens here, outside any work slot, so a replica that
// takes its whole stop grace never delays a build or a deploy.
import type Docker from "dockerode";
import type { AgentChannel } from "../channel/channel.js";
import type { AgentLogger } from "../logger.js";
import { listManagedContainers, removeContainer } from "../runtime/containers.js";

export class ContainerReconciler {
  /** Containers being stopped: listed again meanwhile, they are not stopped twice. */
  private readonly removing = new Set<string>();

  constructor(
    private readonly docker: Docker,
    private readonly channel: AgentChannel,
    private readonly agentId: string,
    private readonly stopGraceSeconds: number,
    private readonly log: AgentLogger,
  ) {}

  /** Reports and removes every `intervalSeconds` until `signal` aborts; waits for removals in flight. */
  async run(intervalSeconds: number, signal: AbortSignal): Promise<void> {
    const removals = new Set<Promise<void>>();
    while (!signal.aborted) {
      try {
        for (const removal of await this.reconcileOnce()) {
          removals.add(removal);
          void removal.finally(() => removals.delete(removal));
        }
      } catch (error) {
        // The next round reports again; a control plane that is away changes nothing here.
        this.log.warn("could not report this host's containers", { error: (error as Error).message });
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, intervalSeconds * 1000);
        signal.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
      });
    }
    await Promise.allSettled(removals);
  }

  /** One round: report, then start removing what is unwanted. Returns the removals started. */
  async reconcileOnce(): Promise<Promise<void>[]> {
    const containers = await listManagedContainers(this.docker, this.agentId);
    const { removeContainerIds } = await this.channel.reportContainers({
      containers: containers.map((c) => ({
        containerId: c.id,
        serviceId: c.serviceId,
        deploymentId: c.deploymentId,
        replicaIndex: c.replicaIndex,
        deploymentSequence: c.sequence,
        running: c.running,
      })),
    });
    // Only containers just listed: the answer cannot name anything else on this host.
    const listed = new Set(containers.map((c) => c.id));
    return removeContainerIds.filter((id) => listed.has(id) && !this.removing.has(id)).map((id) => this.remove(id));
  }

  private async remove(id: string): Promise<void> {
    this.removing.add(id);
    try {
      await removeContainer(this.docker, id, this.stopGraceSeconds);
      this.log.info("removed a container no deployment wants", { container: id.slice(0, 12) });
    } catch (error) {
      this.log.warn("could not remove a container", { container: id.slice(0, 12), error: (error as Error).message });
    } finally {
      this.removing.delete(id);
    }
  }
}
