// Once per test run: a migrated template database, and the busybox base image in the registry.
import { prepareTemplate } from "./database.js";
import { ensureBaseImage } from "./registry.js";

export default async function setup(): Promise<void> {
  await Promise.all([prepareTemplate(), ensureBaseImage()]);
}
