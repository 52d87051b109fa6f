// After a control plane starts, agents may have been unable to heartbeat while it was down: every
// live lease gets one full lease period from now, so the reaper does not take work from agents
// that were only waiting for us. Once per lease (the flag stops a crash-looping control plane from
// keeping a dead agent's work forever); a heartbeat that renews the lease clears it.
import { sql } from "kysely";
import type { WorkTable } from "../kind.js";
import { statusArray, tableOf, type Executor } from "./fragments.js";

export async function extendLiveLeases(db: Executor, work: WorkTable, leaseSeconds: number): Promise<number> {
  const result = await sql`
    UPDATE ${tableOf(work)}
    SET lease_expires_at = greatest(lease_expires_at, now() + make_interval(secs => ${leaseSeconds})),
        lease_extended = true
    WHERE status = ANY(${statusArray(work, work.leased)}) AND NOT lease_extended`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}
