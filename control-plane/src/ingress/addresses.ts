// Where users reach a service: `<label>.<base domain>`, plus its custom domains. The label is given
// once, when the service is created, so the address stays the same across deploys.
import { randomBytes } from "node:crypto";

export interface IngressAddressOptions {
  /** Generated host names live under it (`localhost` in the dev stack: no DNS set-up needed). */
  baseDomain: string;
  /** Where Caddy listens, e.g. `:443` or `127.0.0.1:8088`. */
  listen: string;
  /** Whether Caddy serves HTTPS with certificates it obtains itself (public names). */
  https: boolean;
}

export class IngressAddresses {
  constructor(readonly options: IngressAddressOptions) {}

  hostOf(label: string): string {
    return `${label}.${this.options.baseDomain}`;
  }

  /** The address users reach the service at; the port appears when it is not the scheme's own. */
  urlOf(label: string): string {
    const scheme = this.options.https ? "https" : "http";
    const port = this.options.listen.slice(this.options.listen.lastIndexOf(":") + 1);
    const defaultPort = this.options.https ? "443" : "80";
    return `${scheme}://${this.hostOf(label)}${port === defaultPort ? "" : `:${port}`}`;
  }
}

/** The label a new service asks for: `<service>-<project>`, a valid DNS label. */
export function ingressLabelFor(serviceName: string, projectName: string): string {
  return trimLabel(`${serviceName}-${projectName}`, 63);
}

/** Another label for when the first is taken (by a service of another organisation, say). */
export function alternativeLabel(label: string): string {
  return `${trimLabel(label, 54)}-${randomBytes(4).toString("hex")}`;
}

const trimLabel = (label: string, max: number) => label.slice(0, max).replace(/-+$/, "");
