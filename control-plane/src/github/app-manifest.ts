// The manifest Slipway hands GitHub when an admin clicks "Create GitHub App": the permissions and
// events the integration needs, and where GitHub should send webhooks and users.
export function appManifest(publicUrl: string, name: string) {
  const base = publicUrl.replace(/\/$/, "");
  return {
    name,
    url: base,
    hook_attributes: { url: `${base}/api/webhooks/github`, active: true },
    redirect_url: `${base}/api/github/app/callback`,
    callback_urls: [`${base}/api/github/oauth/callback`],
    setup_url: `${base}/api/github/setup`,
    setup_on_update: true,
    request_oauth_on_install: false,
    public: false,
    default_permissions: { contents: "read", metadata: "read", deployments: "write", issues: "write" },
    // GitHub always delivers installation, installation_repositories and ping to an app; they cannot
    // be (and need not be) subscribed to here.
    default_events: ["push", "issues"],
  };
}

/** An HTML page that posts the manifest to GitHub at once (GitHub requires a form POST). */
export function manifestFormPage(action: string, manifest: object): string {
  const escape = (value: string) =>
    value.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Creating the Slipway GitHub App…</title></head>
<body>
<form id="manifest" method="post" action="${escape(action)}">
<input type="hidden" name="manifest" value="${escape(JSON.stringify(manifest))}">
<noscript><button type="submit">Continue to GitHub</button></noscript>
</form>
<script>document.getElementById("manifest").submit();</script>
</body></html>`;
}
