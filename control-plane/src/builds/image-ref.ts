/** Where a build's image is pushed: {registry}/{project_id}/{service_id}:{commit_sha}. */
export function imageRefFor(
  registryHost: string,
  build: { projectId: string; serviceId: string; commitSha: string },
): string {
  return `${registryHost}/${build.projectId}/${build.serviceId}:${build.commitSha}`;
}

/**
 * The image a build pushed, by its digest rather than its tag: what deploys run, so that a tag
 * pushed again (a retried build of the same commit) can never change what a deployment runs.
 */
export function imageByDigest(imageRef: string, digest: string): string {
  const tag = imageRef.lastIndexOf(":");
  const repository = tag > imageRef.lastIndexOf("/") ? imageRef.slice(0, tag) : imageRef;
  return `${repository}@${digest}`;
}
