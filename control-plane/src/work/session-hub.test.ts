import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { SessionHub, sameSessionAgent } from "./session-hub.js";

/** A stand-in for an agent's session stream that records what was written to it. */
function stream() {
  const call = Object.assign(new EventEmitter(), {
    written: [] as unknown[],
    write(m: unknown) {
      call.written.push(m);
      return true;
    },
    end() {},
  });
  return call;
}
type Call = Parameters<SessionHub["attach"]>[2];

const ORG = "org-1";
const agent = (id: string, labels: Record<string, string> = {}, capabilities = ["build"]) => ({
  id,
  orgId: ORG,
  capabilities,
  labels,
});
const anyWork = (count: number) => [{ orgId: ORG, labels: {}, count }];

describe("SessionHub", () => {
  it("wakes as many idle agents as there is work, taking turns, and skips busy ones", () => {
    const hub = new SessionHub();
    const calls = ["a", "b", "c"].map((id) => {
      const call = stream();
      hub.attach(agent(id), 1, call as unknown as Call);
      return call;
    });
    const hinted = () => calls.map((c) => c.written.length);

    hub.hintWork("build", anyWork(1));
    expect(hinted()).toEqual([1, 0, 0]);
    hub.hintWork("build", anyWork(1));
    expect(hinted()).toEqual([1, 1, 0]);

    hub.claimed("c"); // c holds as much as its one slot allows
    hub.hintWork("build", anyWork(2));
    expect(hinted()).toEqual([2, 2, 0]);

    // Its heartbeat says it holds nothing any more: it is woken again.
    hub.holding("c", 0);
    hub.hintWork("build", anyWork(5));
    expect(hinted()).toEqual([3, 3, 1]);

    // Agents without the capability are never woken for that kind.
    hub.hintWork("deploy", anyWork(5));
    expect(hinted()).toEqual([3, 3, 1]);
  });

  it("forgets an agent whose stream ended", () => {
    const hub = new SessionHub();
    const call = stream();
    hub.attach(agent("a"), 2, call as unknown as Call);
    expect(hub.connectedAgents).toBe(1);
    call.emit("cancelled");
    expect(hub.connectedAgents).toBe(0);
    hub.hintWork("build", anyWork(1));
    expect(call.written).toEqual([]);
  });

  it("wakes only agents that could claim the work: its organisation, and the labels its service requires", () => {
    const hub = new SessionHub();
    const plain = stream();
    const eu = stream();
    const euArm = stream();
    const otherOrg = stream();
    hub.attach(agent("plain"), 4, plain as unknown as Call);
    hub.attach(agent("eu", { region: "eu" }), 4, eu as unknown as Call);
    hub.attach(agent("eu-arm", { region: "eu", arch: "arm64" }), 4, euArm as unknown as Call);
    hub.attach({ ...agent("other", { region: "eu" }), orgId: "org-2" }, 4, otherOrg as unknown as Call);
    const hinted = () => [plain, eu, euArm, otherOrg].map((c) => c.written.length);

    hub.hintWork("build", [{ orgId: ORG, labels: { region: "eu", arch: "arm64" }, count: 3 }]);
    expect(hinted()).toEqual([0, 0, 1, 0]);
    hub.hintWork("build", [{ orgId: ORG, labels: { region: "eu" }, count: 5 }]);
    expect(hinted()).toEqual([0, 1, 2, 0]);
    hub.hintWork("build", [{ orgId: ORG, labels: { region: "us" }, count: 5 }]);
    expect(hinted()).toEqual([0, 1, 2, 0]);

    // When the database cannot say what waits, every idle agent able to build looks.
    hub.hintEveryone("build");
    expect(hinted()).toEqual([1, 2, 3, 1]);
  });

  it("ends the streams of an agent that changed, and tells a changed agent from an unchanged one", () => {
    const hub = new SessionHub();
    const first = stream();
    const second = stream();
    const other = stream();
    const ended: string[] = [];
    first.end = () => ended.push("first");
    second.end = () => ended.push("second");
    other.end = () => ended.push("other");
    hub.attach(agent("a", { zone: "b" }), 1, first as unknown as Call);
    hub.attach(agent("a", { zone: "b" }), 1, second as unknown as Call);
    hub.attach(agent("c"), 1, other as unknown as Call);
    expect(hub.sessionAgents().map((a) => a.id)).toEqual(["a", "c"]);

    hub.endSessions("a");
    expect(ended).toEqual(["first", "second"]);

    const before = agent("a", { zone: "b", arch: "arm64" });
    expect(sameSessionAgent(before, agent("a", { arch: "arm64", zone: "b" }))).toBe(true);
    expect(sameSessionAgent(before, agent("a", { zone: "b" }))).toBe(false);
    expect(sameSessionAgent(before, { ...before, capabilities: ["build", "deploy"] })).toBe(false);
  });
});
