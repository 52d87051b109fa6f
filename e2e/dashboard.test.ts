// The dashboard in a real browser on the real stack: a control plane serving web/dist, an agent
// that builds and deploys, Caddy in front of the service. Sign in with the bootstrap token, open
// the service, press Deploy, watch the build's log stream live until it completes, and reach the
// service at its URL. Screenshots of each step land in test-results/screenshots/.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { eventually } from "../test-support/api.js";
import { launchBrowser, screenshot } from "../test-support/browser.js";
import { getThroughIngress } from "../test-support/caddy.js";
import { startIngressStack, type IngressStack } from "../test-support/ingress-stack.js";
import { BASE_IMAGE } from "../test-support/registry.js";

/** A static site whose build prints a line a second for a few seconds: long enough to watch live. */
const site = (version: string) => ({
  Containerfile: [
    `FROM ${BASE_IMAGE}`,
    "COPY www /www",
    'RUN for i in 1 2 3 4 5 6; do printf "\\033[32mstep %s of 6\\033[0m\\n" $i; sleep 1; done',
    'CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]',
    "",
  ].join("\n"),
  "www/index.html": `${version}\n`,
});

describe("the dashboard", () => {
  let stack: IngressStack;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    stack = await startIngressStack({});
    await stack.startAgent("local", ["build", "deploy"]);
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it("signs in, deploys the branch head, streams the build's log live and serves the service", async () => {
    // The branch has a commit, pushed without a webhook: the Deploy button builds the head.
    await stack.repo.commit(site("v1"), "First version");
    const base = stack.controlPlane.httpUrl;

    // Any dashboard page sends a signed-out visitor to sign in, and back after.
    await page.goto(`${base}/services/${stack.serviceId}`);
    await page.getByLabel("Email").waitFor();
    await screenshot(page, "01-sign-in");
    await page.getByRole("button", { name: "Sign in with the bootstrap token" }).click();
    await page.getByLabel("Bootstrap token").fill("not-the-token");
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.getByRole("alert").filter({ hasText: "wrong token" }).waitFor();
    await page.getByLabel("Bootstrap token").fill(stack.token);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.getByRole("heading", { name: "site" }).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/services/${stack.serviceId}`);

    // The projects list leads to the service as well.
    await page.getByRole("link", { name: "Projects" }).first().click();
    await page.getByRole("heading", { name: stack.projectName }).waitFor();
    await screenshot(page, "02-projects");
    await page.getByRole("link", { name: "site", exact: true }).click();
    await page.getByText("Nothing deployed yet").waitFor();
    expect(await page.getByTestId("service-url").textContent()).toBe(stack.url);
    await screenshot(page, "03-service-before-deploy");

    // Deploy: nothing is built yet, so the head's build starts (202) and the page follows it.
    await page.getByRole("button", { name: "Deploy" }).click();
    await page.waitForURL(/\/builds\/[0-9a-f-]{36}$/);
    const buildId = new URL(page.url()).pathname.split("/").pop() as string;
    const log = page.getByTestId("build-log");
    // Live: output arrives while the build is still running.
    await log.filter({ hasText: "step 1 of 6" }).waitFor({ timeout: 120_000 });
    const midway = await stack.api.ok<{ status: string }>("GET", `/api/builds/${buildId}`);
    expect(["claimed", "cloning", "building", "pushing"]).toContain(midway.status);
    expect(await page.getByTestId("log-state").textContent()).toBe("streaming live");
    // ANSI colours become coloured spans, not escape codes.
    expect(await log.innerHTML()).toMatch(/<span style="color:rgb\([^)]*\)">step 1 of 6<\/span>/);
    await screenshot(page, "04-build-streaming");

    await page.locator("h1 [data-status=completed]").waitFor({ timeout: 180_000 });
    await page.getByTestId("log-state").filter({ hasText: "complete" }).waitFor();
    expect(await log.textContent()).toContain("step 6 of 6");
    await expect(page.getByRole("button", { name: "Retry" }).isVisible()).resolves.toBe(true);
    expect(await page.getByRole("listitem").filter({ hasText: "completed" }).count()).toBeGreaterThan(0);
    await screenshot(page, "05-build-completed");

    // The completed build deploys (the Deploy button asked for it), and the service answers.
    await eventually(
      () => getThroughIngress(stack.url).catch(() => ({ status: 0, body: "" })),
      (answer) => answer.status === 200,
      { timeoutMs: 120_000, what: "the service behind its URL" },
    );
    expect(await getThroughIngress(stack.url)).toEqual({ status: 200, body: "v1\n" });

    await page.getByRole("link", { name: "Service" }).click();
    await page.getByText("Replica 0:").filter({ hasText: "running" }).waitFor({ timeout: 60_000 });
    await screenshot(page, "06-service-deployed");

    // Other pages render what the API has.
    await page.getByRole("link", { name: "Agents" }).click();
    await page.getByRole("cell", { name: "local" }).waitFor();
    await screenshot(page, "07-agents");
    await page.getByRole("link", { name: "Deliveries" }).click();
    await page.getByRole("heading", { name: "Webhook deliveries" }).waitFor();

    // A phone-sized viewport still shows the service page.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${base}/services/${stack.serviceId}`);
    await page.getByRole("button", { name: "Deploy" }).waitFor();
    await screenshot(page, "08-service-phone");
  });

  it("signs the first owner in with an email and password, shows who is signed in, and signs out", async () => {
    const base = stack.controlPlane.httpUrl;
    const owner = { email: "owner@example.com", name: "Olga Owner", password: "a long and good passphrase" };
    // The first owner, created as the first-run page will (only while nobody else exists).
    const created = await fetch(`${base}/api/setup/owner`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(owner),
    });
    expect(created.status).toBe(201);

    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    try {
      const fresh = await context.newPage();
      await fresh.goto(`${base}/`);
      await fresh.getByLabel("Email").fill(owner.email);
      await fresh.getByLabel("Password").fill("not the passphrase");
      await fresh.getByRole("button", { name: "Sign in", exact: true }).click();
      await fresh.getByRole("alert").filter({ hasText: "wrong email or password" }).waitFor();
      await fresh.getByLabel("Password").fill(owner.password);
      await fresh.getByRole("button", { name: "Sign in", exact: true }).click();
      await fresh.getByRole("heading", { name: stack.projectName }).waitFor();
      expect(await fresh.getByTestId("signed-in-as").textContent()).toBe(`${owner.email} · owner`);
      await screenshot(fresh, "09-signed-in-as-owner");
      await fresh.getByRole("button", { name: "Sign out" }).click();
      await fresh.getByLabel("Email").waitFor();
      // Signed out for real: the API no longer knows this browser.
      const answer = await fresh.evaluate(async () => (await fetch("/api/session")).status);
      expect(answer).toBe(401);
    } finally {
      await context.close();
    }
  });

  it("refuses a state-changing request that carries the session cookie but not the CSRF token", async () => {
    const base = stack.controlPlane.httpUrl;
    const signIn = await fetch(`${base}/api/session`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token: stack.token }),
    });
    expect(signIn.status).toBe(201);
    const { csrfToken } = (await signIn.json()) as { csrfToken: string };
    const cookie = (signIn.headers.get("set-cookie") ?? "").split(";")[0] as string;
    const post = (headers: Record<string, string>) =>
      fetch(`${base}/api/projects`, {
        method: "POST",
        headers: { cookie, "content-type": "application/json", ...headers },
        body: JSON.stringify({ name: "csrf-probe" }),
      });
    const refused = await post({});
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: string }).error).toMatch(/X-CSRF-Token/);
    expect((await post({ "x-csrf-token": "0".repeat(csrfToken.length) })).status).toBe(403);
    // Nothing was created; the same request with the token goes through.
    const projects = await stack.api.ok<{ name: string }[]>("GET", "/api/projects");
    expect(projects.map((p) => p.name)).not.toContain("csrf-probe");
    expect((await post({ "x-csrf-token": csrfToken })).status).toBe(201);
  });
});
