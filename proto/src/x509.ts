// @peculiar/x509 resolves its ASN.1 schemas through tsyringe, which needs the reflect-metadata
// polyfill loaded first; importing the library only through this module guarantees the order.
// Exported as the subpath "@slipway/proto/x509", so the main entry stays free of both libraries.
import "reflect-metadata";
import { webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";

// Node's webcrypto implements the standard Crypto interface, but this project compiles without the
// DOM library that declares it, so the type cannot be named here.
x509.cryptoProvider.set(webcrypto as never);

export { x509 };

/**
 * ECDSA P-256 with SHA-256: small keys, fast handshakes, supported by every TLS stack. The only
 * kind of key the control plane's CA uses and certifies, and the kind every agent generates.
 */
export const KEY_ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
