/** Where Kubernetes workload kinds keep their pod spec, and which lists of a pod spec hold containers. */

const podSpecPaths: Record<string, readonly string[]> = {
  Pod: ['spec'],
  PodTemplate: ['template', 'spec'],
  Deployment: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  ReplicationController: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};

/** The path from the object to its pod spec; undefined for kinds that do not run containers. */
export function podSpecPath(kind: string): readonly string[] | undefined {
  return Object.hasOwn(podSpecPaths, kind) ? podSpecPaths[kind] : undefined;
}

/** Every container list of a pod spec, in the order Kubernetes starts them. */
export const containerFields = ['initContainers', 'containers', 'ephemeralContainers'] as const;
