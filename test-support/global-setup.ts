// Once per test run: a migrated template database of this run's own, and the busybox base image in
// the registry. The template is dropped when the run ends.
import { TEMPLATE_ENV, dropDatabase, prepareTemplate } from "./database.js";
import { ensureBaseImage } from "./registry.js";

export default async function setup(): Promise<() => Promise<void>> {
  const [template] = await Promise.all([prepareTemplate(), ensureBaseImage()]);
  process.env[TEMPLATE_ENV] = template;
  return async () => {
    await dropDatabase(template);
  };
}
