import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { SessionHub } from "./session-hub.js";

/** A stand-in for a gRPC server stream that records what was written to it. */
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
type Call = Parameters<SessionHub["attach"]>[3];

describe("SessionHub", () => {
  it("wakes as many idle agents as there is work, taking turns, and skips busy ones", () => {
    const hub = new SessionHub();
    const calls = ["a", "b", "c"].map((id) => {
      const call = stream();
      hub.attach(id, ["build"], 1, call as unknown as Call);
      return call;
    });
    const hinted = () => calls.map((c) => c.written.length);

    hub.hintWork("build", 1);
    expect(hinted()).toEqual([1, 0, 0]);
    hub.hintWork("build", 1);
    expect(hinted()).toEqual([1, 1, 0]);

    hub.claimed("c"); // c holds as much as its one slot allows
    hub.hintWork("build", 2);
    expect(hinted()).toEqual([2, 2, 0]);

    // Its heartbeat says it holds nothing any more: it is woken again.
    hub.holding("c", 0);
    hub.hintWork("build", 5);
    expect(hinted()).toEqual([3, 3, 1]);

    // Agents without the capability are never woken for that kind.
    hub.hintWork("deploy", 5);
    expect(hinted()).toEqual([3, 3, 1]);
  });

  it("forgets an agent whose stream ended", () => {
    const hub = new SessionHub();
    const call = stream();
    hub.attach("a", ["build"], 2, call as unknown as Call);
    expect(hub.connectedAgents).toBe(1);
    call.emit("cancelled");
    expect(hub.connectedAgents).toBe(0);
    hub.hintWork("build", 1);
    expect(call.written).toEqual([]);
  });
});
