// Claim: pending work to agents, one item each, in one statement however many agents ask at once.
//
// The oldest pending rows the agents may take (their organisation's, hanging off an owner whose
// required labels they carry) are locked FOR UPDATE SKIP LOCKED, so racing claimers never wait on
// or get the same row; each is stamped with its agent, a fresh lease token and expiry, and the
// agent's claim key, and its transition is recorded. A claim retried after its reply was lost
// (the same agent and key) gets the work it was given then, of whichever kind, instead of more.
//
// Agents claiming together should be able to take the same work (one organisation, one set of
// labels): the first one's row decides what is eligible, and a claimant whose own row does not
// allow it (relabelled meanwhile) gets nothing this time. The claim does not wait for its commit
// to reach the disk (see no_flush): do not run it inside a transaction that must be durable. The rows come back with the details
// their spec needs (WorkTable.details), read in the same statement.
import { sql } from "kysely";
import type { WorkRow, WorkTable } from "../kind.js";
import { executePrepared } from "../../db/database.js";
import { historyColumnOf, historyOf, statusArray, tableOf, type Executor } from "./fragments.js";

export interface Claimant {
  agentId: string;
  /** Chosen by the agent per claim and reused when it retries; null when it sent none. */
  claimKey: string | null;
}

/** A claimed row with the details its spec needs; `again` when it was claimed by an earlier try. */
export type ClaimedRow<Row extends WorkRow = WorkRow> = Row & { details: unknown; again?: boolean };

/**
 * Claims one item of `work` for each claimant, oldest first; returns what each got (undefined when
 * nothing was left, or when its retried claim had been given work of another of `allKinds`).
 */
export async function claimWork<Row extends WorkRow>(
  db: Executor,
  work: WorkTable,
  claimants: readonly Claimant[],
  leaseSeconds: number,
  allKinds: readonly WorkTable[],
): Promise<(ClaimedRow<Row> | undefined)[]> {
  // The same claim asked twice at once (a retry racing its original) is one claim with one answer.
  const keyOf = (c: Claimant) => (c.claimKey === null ? null : `${c.agentId}/${c.claimKey}`);
  const asked = new Map<string, Claimant>();
  const unique = claimants.filter((c) => {
    const key = keyOf(c);
    if (key === null) return true;
    if (asked.has(key)) return false;
    asked.set(key, c);
    return true;
  });
  const first = unique[0];
  if (!first) return [];
  // One index probe per claimant and kind (a scalar subquery is never turned into a join, so the
  // probe cannot become a scan of every claim key however stale the statistics).
  const earlier = sql.join(
    allKinds.map(
      (kind) => sql`
        SELECT wanted.n, ${kind.name}::text AS kind, (
          SELECT t.id FROM ${tableOf(kind)} t
          WHERE t.claimed_by = wanted.agent_id AND t.claim_key = wanted.claim_key
            AND t.status = ANY(${statusArray(kind, kind.leased)})
          LIMIT 1
        ) AS id
        FROM wanted WHERE wanted.claim_key IS NOT NULL`,
    ),
    sql` UNION ALL `,
  );
  const rows = await executePrepared(
    db,
    sql<ClaimedRow<Row> & { claimant: string }>`
    WITH no_flush AS (
      -- A claim lost in a crash before its commit reached the disk is harmless: the work is pending
      -- again, and its agent's next write is refused (the lease token is unknown), so it stops. Not
      -- waiting for the WAL flush takes a third off the claim.
      SELECT set_config('synchronous_commit', 'off', true)
    ), wanted AS (
      SELECT w.* FROM no_flush, unnest(${unique.map((c) => c.agentId)}::uuid[], ${unique.map((c) => c.claimKey)}::text[])
        WITH ORDINALITY AS w(agent_id, claim_key, n)
    ), earlier AS (
      SELECT * FROM (${earlier}) found WHERE id IS NOT NULL
    ), audience AS (
      SELECT org_id, labels FROM agents WHERE id = ${first.agentId}
    ), fresh AS (
      -- Each claimant may take what the first may: same organisation, at least its labels.
      SELECT wanted.agent_id, wanted.claim_key, wanted.n, row_number() OVER (ORDER BY wanted.n) AS rank
      FROM wanted JOIN agents a ON a.id = wanted.agent_id, audience
      WHERE wanted.n NOT IN (SELECT n FROM earlier)
        AND a.org_id = audience.org_id AND audience.labels <@ a.labels
    ), next AS (
      SELECT id, row_number() OVER () AS rank FROM (
        SELECT id FROM ${tableOf(work)}
        WHERE status = 'pending'
          AND ${sql.ref(work.owner.column)} IN (
            SELECT owner.id FROM (${work.owner.rows}) owner, audience
            WHERE owner.org_id = audience.org_id AND owner.labels <@ audience.labels
          )
        ORDER BY ${work.claimOrder}
        LIMIT (SELECT count(*) FROM fresh)
        FOR UPDATE SKIP LOCKED
      ) pending
    ), claimed AS (
      UPDATE ${tableOf(work)} t
      SET status = 'claimed',
          claimed_by = fresh.agent_id,
          claim_key = fresh.claim_key,
          attempt = t.attempt + 1,
          resumes = 0,
          lease_token = gen_random_uuid(),
          lease_expires_at = now() + make_interval(secs => ${leaseSeconds}),
          started_at = coalesce(t.started_at, now())
      FROM next JOIN fresh USING (rank)
      WHERE t.id = next.id
      RETURNING t.*, fresh.n AS claimant
    ), history AS (
      INSERT INTO ${historyOf(work)} (${historyColumnOf(work)}, from_status, to_status, actor, reason)
      SELECT id, 'pending', 'claimed', 'agent:' || claimed_by, 'attempt ' || attempt FROM claimed
    )${work.onClaim ? sql`, side_effect AS (${work.onClaim})` : sql``}
    SELECT claimed.*, ${work.details(sql`claimed`)} AS details, false AS again FROM claimed
    UNION ALL
    SELECT t.*, earlier.n AS claimant, ${work.details(sql`t`)} AS details, true AS again
    FROM earlier JOIN ${tableOf(work)} t ON t.id = earlier.id
    WHERE earlier.kind = ${work.name}`,
  );
  const byClaimant = new Map(
    rows.map(({ claimant, ...row }) => [unique[Number(claimant) - 1], row as ClaimedRow<Row>]),
  );
  return claimants.map((c) => byClaimant.get(asked.get(keyOf(c) ?? "") ?? c));
}
