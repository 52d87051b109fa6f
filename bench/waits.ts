// Optional (`--waits`): samples what the benchmark database's backends are doing every 20 ms, in a
// process of its own, and reports how often each state was seen. "Client/ClientRead" means the
// backend waits for the application's next statement; "Lock/object" on a commit is the NOTIFY
// queue's lock; "IO/WALSync" is a commit flushing WAL; "CPU" is running.
import pg from "pg";

const [url = "", database = ""] = process.argv.slice(2);
const client = new pg.Client({ connectionString: url });
const counts = new Map<string, number>();
let samples = 0;
let running = true;

async function sample(): Promise<void> {
  const { rows } = await client.query<{ state: string }>(
    `SELECT coalesce(wait_event_type || '/' || wait_event, 'CPU') || ' (' || coalesce(state, '?') || ': ' ||
            split_part(regexp_replace(query, '\\s+', ' ', 'g'), ' ', 1) || ' ' ||
            coalesce(substring(query from '(?:into|from|update) "?([a-z_]+)'), '') || ')' AS state
     FROM pg_stat_activity
     WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_type = 'client backend'
       AND query NOT LIKE 'LISTEN %'`,
    [database],
  );
  samples++;
  for (const { state } of rows) counts.set(state, (counts.get(state) ?? 0) + 1);
}

process.on("message", (message: { type: "stop" }) => {
  if (message.type === "stop") running = false;
});

await client.connect();
while (running) {
  await sample();
  await new Promise((resolve) => setTimeout(resolve, 20));
}
await client.end();
process.send?.({ samples, counts: Object.fromEntries([...counts].sort((a, b) => b[1] - a[1])) });
process.disconnect();
