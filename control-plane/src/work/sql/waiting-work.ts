// Whom to wake: pending work grouped by who could take it (an organisation and the labels its
// agents must carry), among the oldest WAITING_SAMPLE items.
import { sql } from "kysely";
import { executePrepared } from "../../db/database.js";
import type { WorkTable } from "../kind.js";
import { tableOf, type Executor } from "./fragments.js";

export interface WaitingWork {
  orgId: string;
  labels: Record<string, string>;
  count: number;
}

/** How many waiting items waitingWork looks at: enough to choose whom to wake. */
export const WAITING_SAMPLE = 1000;

/** A full sample may leave some groups out: the caller then wakes every idle agent. */
export async function waitingWork(db: Executor, work: WorkTable): Promise<WaitingWork[]> {
  return executePrepared(
    db,
    sql<WaitingWork>`
    SELECT owner.org_id AS "orgId", owner.labels, count(*)::int AS count
    FROM (SELECT ${sql.ref(work.owner.column)} AS owner_id FROM ${tableOf(work)}
          WHERE status = 'pending' LIMIT ${WAITING_SAMPLE}) waiting
    JOIN (${work.owner.rows}) owner ON owner.id = waiting.owner_id
    GROUP BY 1, 2`,
  );
}
