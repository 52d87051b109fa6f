// Wakes agents after work was committed outside a transaction of our own (batched writes): at most
// one NOTIFY per window, the first one at once, so a burst of pushes costs a handful of notifies
// and a lone push wakes agents without delay.
import type { Db } from "../db/database.js";
import { notifyWorkAvailable, type WorkKindName } from "./work-notifier.js";

const WINDOW_MS = 20;

export class WorkWaker {
  private lastSent = new Map<WorkKindName, number>();
  private scheduled = new Set<WorkKindName>();

  constructor(private readonly db: Db) {}

  poke(kind: WorkKindName): void {
    if (this.scheduled.has(kind)) return;
    const wait = WINDOW_MS - (Date.now() - (this.lastSent.get(kind) ?? 0));
    if (wait <= 0) return this.send(kind);
    this.scheduled.add(kind);
    setTimeout(() => {
      this.scheduled.delete(kind);
      this.send(kind);
    }, wait).unref();
  }

  private send(kind: WorkKindName): void {
    this.lastSent.set(kind, Date.now());
    // A lost notification only delays work: agents poll as well.
    notifyWorkAvailable(this.db, kind).catch(() => {});
  }
}
