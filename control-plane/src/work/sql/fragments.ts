// Pieces of SQL every statement of the core shares: the names a kind's table is addressed by.
import { sql, type RawBuilder } from "kysely";
import type { Lease, WorkTable } from "../kind.js";

export type { Executor } from "../../db/database.js";

export const tableOf = (work: WorkTable) => sql.table(work.table);
export const historyOf = (work: WorkTable) => sql.table(work.history.table);
export const historyColumnOf = (work: WorkTable) => sql.ref(work.history.workColumn);

/** `statuses` as an array of the kind's status enum. */
export const statusArray = (work: WorkTable, statuses: readonly string[]): RawBuilder<unknown> =>
  sql`${[...statuses]}::${sql.raw(work.statusType)}[]`;

/** One status of the kind's enum. */
export const statusValue = (work: WorkTable, status: string): RawBuilder<unknown> =>
  sql`${status}::${sql.raw(work.statusType)}`;

/** The row `alias` is leased to the lease's agent under its token, right now. */
export const heldUnder = (work: WorkTable, alias: string, lease: Lease): RawBuilder<boolean> => sql<boolean>`
  ${sql.ref(`${alias}.id`)} = ${lease.id} AND ${sql.ref(`${alias}.lease_token`)} = ${lease.leaseToken}
  AND ${sql.ref(`${alias}.claimed_by`)} = ${lease.agentId}
  AND ${sql.ref(`${alias}.status`)} = ANY(${statusArray(work, work.leased)})`;

/** Whether someone asked the row `alias` to stop (never, for a kind that cannot be cancelled). */
export const cancelRequestedOf = (work: WorkTable, alias: string): RawBuilder<boolean> =>
  work.cancellable ? sql<boolean>`${sql.ref(`${alias}.cancel_requested_at`)} IS NOT NULL` : sql<boolean>`false`;

export const agentActor = (agentId: string) => `agent:${agentId}`;
