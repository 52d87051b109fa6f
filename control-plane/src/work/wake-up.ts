// Waking agents. Producers of work NOTIFY (sql/notify.ts) inside their transaction, or, for batched
// writes committed outside one of ours, through a WorkWaker after the commit. Every control plane
// LISTENs (db/notification-listener.ts) and wakes, among its connected agents, as many idle ones
// able to take the work as there is work waiting (session-hub.ts); a cancel reaches the agent
// holding the work.
import type { Db } from "../db/database.js";
import type { NotificationListener } from "../db/notification-listener.js";
import type { WorkTable } from "./kind.js";
import type { SessionHub } from "./session-hub.js";
import { CANCEL_CHANNEL, WORK_CHANNEL, notifyWork, type CancelNotice } from "./sql/notify.js";
import { WAITING_SAMPLE, waitingWork } from "./sql/waiting-work.js";

/** Routes this control plane's notifications of new work and of cancels to the agents it serves. */
export function wakeAgents(listener: NotificationListener, db: Db, kinds: readonly WorkTable[], hub: SessionHub): void {
  const byName = new Map(kinds.map((kind) => [kind.name, kind]));
  const wake = (kind: WorkTable) =>
    waitingWork(db, kind).then(
      (waiting) =>
        waiting.reduce((sum, group) => sum + group.count, 0) >= WAITING_SAMPLE
          ? hub.hintEveryone(kind.name) // a backlog this deep has work for any idle agent
          : // One more per group, in case one of the agents is just filling up.
            hub.hintWork(
              kind.name,
              waiting.map((group) => ({ ...group, count: group.count + 1 })),
            ),
      () => hub.hintEveryone(kind.name),
    );
  listener.subscribe(WORK_CHANNEL, (name) => {
    const kind = byName.get(name);
    if (kind) void wake(kind);
  });
  listener.subscribe(CANCEL_CHANNEL, (payload) => {
    let notice: CancelNotice;
    try {
      notice = JSON.parse(payload) as CancelNotice;
    } catch {
      return; // not ours
    }
    if (notice.agentId) hub.cancel(notice.agentId, notice.kind, notice.id, "cancelled by a user");
  });
  // Work may have arrived while the listener was deaf.
  listener.on("reconnected", () => kinds.forEach((kind) => void wake(kind)));
}

const WINDOW_MS = 20;

/**
 * Wakes agents after work was committed outside a transaction of our own (batched writes): at most
 * one NOTIFY per window, the first one at once, so a burst of pushes costs a handful of notifies
 * and a lone push wakes agents without delay.
 */
export class WorkWaker {
  private lastSent = new Map<string, number>();
  private scheduled = new Set<string>();

  constructor(private readonly db: Db) {}

  poke(kind: string): void {
    if (this.scheduled.has(kind)) return;
    const wait = WINDOW_MS - (Date.now() - (this.lastSent.get(kind) ?? 0));
    if (wait <= 0) return this.send(kind);
    this.scheduled.add(kind);
    setTimeout(() => {
      this.scheduled.delete(kind);
      this.send(kind);
    }, wait).unref();
  }

  private send(kind: string): void {
    this.lastSent.set(kind, Date.now());
    // A lost notification only delays work: agents poll as well.
    notifyWork(this.db, kind).catch(() => {});
  }
}
