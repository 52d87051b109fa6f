// Whether an agent still holds a live lease on a work item (before handing it something it asks for).
import { sql } from "kysely";
import type { Lease, WorkTable } from "../kind.js";
import { heldUnder, tableOf, type Executor } from "./fragments.js";

export async function holdsLease(db: Executor, work: WorkTable, lease: Lease): Promise<boolean> {
  const result = await sql`SELECT 1 FROM ${tableOf(work)} w WHERE ${heldUnder(work, "w", lease)}`.execute(db);
  return result.rows.length > 0;
}
