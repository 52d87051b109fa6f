// Advance: the agent holding a work item reports its next phase. A repeated or out-of-order report
// changes nothing; a report on a lost lease is refused (LeaseLostError). One statement either way.
import { sql } from "kysely";
import { executePrepared } from "../../db/database.js";
import { LeaseLostError } from "../../errors.js";
import type { Lease, WorkTable } from "../kind.js";
import {
  agentActor,
  heldUnder,
  historyColumnOf,
  historyOf,
  statusArray,
  statusValue,
  tableOf,
  type Executor,
} from "./fragments.js";

export async function advanceWork(db: Executor, work: WorkTable, lease: Lease, phase: string): Promise<void> {
  const from = work.phases[phase];
  if (!from) throw new Error(`${work.name} has no phase ${phase}`);
  const [result] = await executePrepared(
    db,
    sql<{ held: boolean }>`
    WITH held AS (
      SELECT id, status FROM ${tableOf(work)} w WHERE ${heldUnder(work, "w", lease)} FOR UPDATE
    ), moved AS (
      UPDATE ${tableOf(work)} t SET status = ${statusValue(work, phase)}
      FROM held
      WHERE t.id = held.id AND held.status = ANY(${statusArray(work, from)})
      RETURNING t.id, held.status AS from_status
    ), history AS (
      INSERT INTO ${historyOf(work)} (${historyColumnOf(work)}, from_status, to_status, actor)
      SELECT id, from_status, ${statusValue(work, phase)}, ${agentActor(lease.agentId)} FROM moved
    )
    SELECT EXISTS (SELECT 1 FROM held) AS held`,
  );
  if (!result?.held) throw new LeaseLostError(lease.id);
}
