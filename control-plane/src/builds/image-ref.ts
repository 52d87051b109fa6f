/** Where a build's image lives: {registry}/{project_id}/{service_id}:{commit_sha}. */
export function imageRefFor(
  registryHost: string,
  build: { projectId: string; serviceId: string; commitSha: string },
): string {
  return `${registryHost}/${build.projectId}/${build.serviceId}:${build.commitSha}`;
}
