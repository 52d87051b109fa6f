// What tests and tools may import from the control plane.
export { loadConfig, type Config } from "./config.js";
export { startControlPlane, type RunningControlPlane } from "./server.js";
export { createDatabase, type Db } from "./db/database.js";
export { migrateToLatest } from "./db/migrate.js";
export { buildApp } from "./http/app.js";
export { CertificateAuthority, readCertificateRequest, type CertificateRequest } from "./pki/certificate-authority.js";
export { SecretBox } from "./crypto/secret-box.js";
// The work core's claim and finish statements, for the benchmark's direct-SQL floor.
export { BUILD_TABLE } from "./builds/build-work.js";
export { DEPLOY_TABLE } from "./deployments/deploy-work.js";
export { claimWork } from "./work/sql/claim.js";
export { finishWork } from "./work/sql/finish.js";
// Deployments created straight from the database, for the rollout benchmark.
export { createDeployment } from "./deployments/deployment-repository.js";
export { openApiDocument } from "./http/openapi-document.js";
