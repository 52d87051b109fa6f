// Runs `buf generate` when the .proto files or the generator settings changed since the last run.
// Skipping an unchanged generation keeps the output's timestamps, so `tsc -b` has nothing to redo.
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const stamp = join(root, "src/gen/.inputs.sha256");

function protoFiles(dir) {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? protoFiles(join(dir, entry.name))
      : entry.name.endsWith(".proto")
        ? [join(dir, entry.name)]
        : [],
  );
}

const inputs = [...protoFiles("slipway"), "buf.yaml", "buf.gen.yaml", "package.json"].sort();
const hash = createHash("sha256");
for (const file of inputs) hash.update(file).update(readFileSync(join(root, file)));
const digest = hash.digest("hex");

if (existsSync(stamp) && readFileSync(stamp, "utf8") === digest) process.exit(0);
execFileSync(join(root, "node_modules/.bin/buf"), ["generate"], { cwd: root, stdio: "inherit" });
writeFileSync(stamp, digest);
