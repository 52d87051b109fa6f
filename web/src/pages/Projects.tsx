import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router-dom";
import { api, dataOf } from "../api/client";
import type { Project } from "../api/types";
import { Empty, Failure, Loading, Status } from "../components/ui";

export function Projects() {
  const projects = useQuery({
    queryKey: ["projects"],
    queryFn: async () => dataOf(await api.GET("/api/projects")),
    refetchInterval: 15_000,
  });
  return (
    <>
      <h1>Projects</h1>
      {projects.isPending && <Loading what="projects" />}
      {projects.isError && <Failure error={projects.error} retry={() => projects.refetch()} />}
      {projects.data?.length === 0 && (
        <Empty>No projects yet. Create one with POST /api/projects (see the README).</Empty>
      )}
      {projects.data?.map((project) => (
        <ProjectServices key={project.id} project={project} />
      ))}
    </>
  );
}

function ProjectServices({ project }: { project: Project }) {
  const services = useQuery({
    queryKey: ["projects", project.id, "services"],
    queryFn: async () =>
      dataOf(await api.GET("/api/projects/{projectId}/services", { params: { path: { projectId: project.id } } })),
    refetchInterval: 10_000,
  });
  return (
    <section className="card" aria-labelledby={`project-${project.id}`}>
      <h2 id={`project-${project.id}`}>{project.name}</h2>
      {services.isPending && <Loading what="services" />}
      {services.isError && <Failure error={services.error} retry={() => services.refetch()} />}
      {services.data?.length === 0 && <Empty>No services in this project.</Empty>}
      {services.data && services.data.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">Service</th>
              <th scope="col">Branch</th>
              <th scope="col">Address</th>
              <th scope="col">State</th>
            </tr>
          </thead>
          <tbody>
            {services.data.map((service) => (
              <tr key={service.id}>
                <td>
                  <Link to={`/services/${service.id}`}>{service.name}</Link>
                </td>
                <td>
                  <code>{service.branch}</code>
                </td>
                <td className="wrap">
                  <a href={service.url} target="_blank" rel="noreferrer">
                    {service.url}
                  </a>
                </td>
                <td>
                  <Status
                    value={service.stopped ? "stopped" : service.currentDeploymentId ? "running" : "not deployed"}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
