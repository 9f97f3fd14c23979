// infra/k8s as tests/deployment/k8s-manifests.test.ts and tests/deployment/k8s-scaling.test.ts read it, without a
// cluster: the manifests' shape (as far as the checks read it), every document of every file
// loaded and sorted by kind, and each container's environment as Kubernetes would assemble it, so
// lib/config.ts can parse what the process would see. The default set is what
// `kubectl apply -f infra/k8s/` applies (no subfolders); the demo overlay in infra/k8s/demo/ is
// loaded apart, for tests/deployment/k8s-demo.test.ts.
import { existsSync, readdirSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { expect } from 'vitest';
import { loadConfig, type Config } from '@/lib/config';
import { createMetrics } from '@/lib/metrics';
import { startMetricsServer, type MetricsServer } from '@/workers/runtime/metrics-server';
import { dockerfileStages, loadCompose, readRepoFile, stageEnvironment } from './container-files';

// --- the manifests' shape, as far as the checks read it ------------------------------------------

export type Labels = Record<string, string>;
export interface Base {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; labels?: Labels; annotations?: Labels };
}
export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    configMapKeyRef?: { name: string; key: string };
  };
}
export interface Probe {
  httpGet?: { path?: string; port?: number | string; httpHeaders?: Array<{ name: string; value: string }> };
  exec?: { command?: string[] };
  tcpSocket?: { port?: number | string };
  grpc?: { port?: number };
  timeoutSeconds?: number;
}
export interface Container {
  name?: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  ports?: Array<{ name?: string; containerPort?: number }>;
  resources?: { requests?: Record<string, string | number>; limits?: Record<string, string | number> };
  startupProbe?: Probe;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
}
export interface LabelSelector {
  matchLabels?: Labels;
  matchExpressions?: unknown[];
}
/** A Deployment or a Job. */
export interface Workload extends Base {
  spec?: {
    replicas?: number;
    selector?: LabelSelector;
    strategy?: { rollingUpdate?: { maxSurge?: number | string } };
    template?: {
      metadata?: { labels?: Labels; annotations?: Labels };
      spec?: {
        containers?: Container[];
        initContainers?: Container[];
        terminationGracePeriodSeconds?: number;
        enableServiceLinks?: boolean;
      };
    };
  };
}
export interface Service extends Base {
  spec?: { selector?: Labels; ports?: Array<{ name?: string; port?: number; targetPort?: number | string }> };
}
export interface DisruptionBudget extends Base {
  spec?: { selector?: LabelSelector; minAvailable?: number | string; maxUnavailable?: number | string };
}
export interface ScaledObject extends Base {
  spec?: {
    scaleTargetRef?: { name?: string; kind?: string; apiVersion?: string };
    minReplicaCount?: number;
    maxReplicaCount?: number;
    fallback?: { replicas?: number };
    triggers?: Array<{ type?: string; metadata?: Record<string, string> }>;
  };
}
export interface ConfigMap extends Base {
  data?: Record<string, string>;
}

// --- what Kubernetes accepts -----------------------------------------------------------------------

/** The kinds these manifests may use, each with the one apiVersion that serves it. */
export const KNOWN_KINDS: Record<string, string> = {
  Namespace: 'v1',
  ConfigMap: 'v1',
  Service: 'v1',
  Deployment: 'apps/v1',
  Job: 'batch/v1',
  PodDisruptionBudget: 'policy/v1',
  ScaledObject: 'keda.sh/v1alpha1',
};
/** Kubernetes' Container fields: a misspelt probe or resources key would otherwise be dropped in silence. */
export const CONTAINER_FIELDS = new Set([
  'name', 'image', 'command', 'args', 'workingDir', 'ports', 'envFrom', 'env', 'resources', 'resizePolicy',
  'restartPolicy', 'volumeMounts', 'volumeDevices', 'livenessProbe', 'readinessProbe', 'startupProbe',
  'lifecycle', 'terminationMessagePath', 'terminationMessagePolicy', 'imagePullPolicy', 'securityContext',
  'stdin', 'stdinOnce', 'tty',
]);
export const POD_SPEC_FIELDS = new Set([
  'activeDeadlineSeconds', 'affinity', 'automountServiceAccountToken', 'containers', 'dnsConfig', 'dnsPolicy',
  'enableServiceLinks', 'ephemeralContainers', 'hostAliases', 'hostIPC', 'hostNetwork', 'hostPID', 'hostUsers',
  'hostname', 'imagePullSecrets', 'initContainers', 'nodeName', 'nodeSelector', 'os', 'overhead',
  'preemptionPolicy', 'priority', 'priorityClassName', 'readinessGates', 'resourceClaims', 'resources',
  'restartPolicy', 'runtimeClassName', 'schedulerName', 'schedulingGates', 'securityContext', 'serviceAccountName',
  'setHostnameAsFQDN', 'shareProcessNamespace', 'subdomain', 'terminationGracePeriodSeconds', 'tolerations',
  'topologySpreadConstraints', 'volumes',
]);
export const PROBE_HANDLERS = ['httpGet', 'exec', 'tcpSocket', 'grpc'] as const;

// --- loading -------------------------------------------------------------------------------------

const K8S_DIR = 'infra/k8s';
const repoUrl = (path: string) => new URL(`../../../${path}`, import.meta.url);

/** Every document of the folder's own YAML files, as `kubectl apply -f <dir>` reads them (not its subfolders). */
export function loadManifests(dir: string) {
  const files = readdirSync(repoUrl(dir), { withFileTypes: true })
    .filter((entry) => entry.isFile() && /\.ya?ml$/.test(entry.name))
    .map((entry) => entry.name)
    .sort();
  const parseProblems: string[] = [];
  const manifests: Array<{ file: string; object: Base }> = files.flatMap((file) =>
    parseAllDocuments(readRepoFile(`${dir}/${file}`)).flatMap((document, index) => {
      for (const problem of [...document.errors, ...document.warnings]) {
        parseProblems.push(`${file}#${index}: ${problem.message}`);
      }
      const object: unknown = document.toJS();
      return object === null || object === undefined ? [] : [{ file, object: object as Base }];
    }),
  );
  return { files, parseProblems, manifests };
}

export const { files, parseProblems, manifests } = loadManifests(K8S_DIR);

export const ofKind = <T extends Base>(kind: string, among = manifests) =>
  among.filter(({ object }) => object.kind === kind).map(({ object }) => object as T);
export const nameOf = (object: Base) => object.metadata?.name ?? '(unnamed)';
export const deployments = ofKind<Workload>('Deployment');
export const jobs = ofKind<Workload>('Job');
export const services = ofKind<Service>('Service');
export const budgets = ofKind<DisruptionBudget>('PodDisruptionBudget');
export const scaledObjects = ofKind<ScaledObject>('ScaledObject');
export const configMaps = new Map(ofKind<ConfigMap>('ConfigMap').map((map) => [nameOf(map), map.data ?? {}]));

/** The npm script each process runs, by its pods' component label (`worker-<queue>` for workers). */
const SCRIPTS: Record<string, string> = { web: 'web', mocks: 'mocks', migrate: 'db:migrate' };
export const scriptOf = (component: string) => (component.startsWith('worker-') ? 'workers' : SCRIPTS[component]);
export const componentOf = (workload: Workload) =>
  workload.spec?.template?.metadata?.labels?.['app.kubernetes.io/component'] ?? '';
export const isDemo = (object: Base) => object.metadata?.labels?.['demo-only'] === 'true';
export const containersOf = (workload: Workload) => [
  ...(workload.spec?.template?.spec?.initContainers ?? []),
  ...(workload.spec?.template?.spec?.containers ?? []),
];
/** The one container of a workload (each runs one process). */
export function mainContainer(workload: Workload): Container {
  const containers = workload.spec?.template?.spec?.containers ?? [];
  expect(containers, nameOf(workload)).toHaveLength(1);
  return containers[0] ?? {};
}
export function deployment(component: string): Workload {
  const [found, ...more] = deployments.filter((entry) => componentOf(entry) === component);
  if (!found || more.length > 0) throw new Error(`expected one Deployment with component ${component}`);
  return found;
}
export const workers = deployments.filter((entry) => scriptOf(componentOf(entry)) === 'workers');
export const scaledObjectOf = (workload: Workload) =>
  scaledObjects.find((scaled) => scaled.spec?.scaleTargetRef?.name === nameOf(workload));

export const { runtime } = dockerfileStages();
/** The image compose builds and runs, which every container here must name too. */
export const composeImage = loadCompose(readRepoFile('docker-compose.yml'), { ADMIN_PASSWORD: 'unused', SESSION_SECRET: 'unused', METRICS_TOKEN: 'unused', MOCKS_TOKEN: 'unused' })
  .services.web?.image;

// --- what each process sees ------------------------------------------------------------------------

/** The Secret the operator creates (infra/k8s/README.md); these manifests only reference it. */
export const SECRET_NAME = 'signup-secrets';
/** What that Secret holds, with stand-ins for lib/config.ts to parse. */
export const SECRET_STAND_INS: Record<string, string> = {
  DATABASE_URL: 'postgresql://signup:from-the-secret@postgres.example.internal:5432/signup',
  ADMIN_PASSWORD: 'from-the-secret',
  SESSION_SECRET: 'from-the-secret-session-0123456789',
  METRICS_TOKEN: 'from-the-secret-0123456789',
  MOCKS_TOKEN: 'from-the-secret-mocks-0123456789',
  CRM_API_KEY: 'from-the-secret-crm-key',
  STORAGE_API_KEY: 'from-the-secret-storage-key',
  ANALYTICS_API_KEY: 'from-the-secret-analytics-key',
  ALERT_WEBHOOK_API_KEY: 'from-the-secret-alerts-key',
  EMAIL_API_KEY: 'from-the-secret-email-key',
  SMTP_PASSWORD: 'from-the-secret-smtp-password',
};
/** What Kubernetes puts in HOSTNAME over the image's ENV: the pod's name. */
const POD_HOSTNAME = 'web-7d9f8c6b5d-x2x4q';
const imageEnvironment = stageEnvironment(runtime);

/**
 * What the container's process sees, in Kubernetes' order: the image's ENV, then HOSTNAME set to
 * the pod's name by the runtime, then envFrom, then env; secrets read as their stand-ins in
 * `secrets` (a key the Secret lacks reads as empty, as an optional secretKeyRef leaves it unset).
 */
export function environmentOf(container: Container, maps = configMaps, secrets = SECRET_STAND_INS): Record<string, string> {
  const fromConfigMaps = (container.envFrom ?? []).map((source) => {
    const name = source.configMapRef?.name ?? '';
    const data = maps.get(name);
    if (!data) throw new Error(`envFrom names ConfigMap ${name}, which no manifest defines`);
    return data;
  });
  const own = (container.env ?? []).map(({ name, value, valueFrom }) => {
    if (valueFrom?.secretKeyRef) return [name, secrets[valueFrom.secretKeyRef.key] ?? ''];
    if (valueFrom?.configMapKeyRef) {
      const { name: map, key } = valueFrom.configMapKeyRef;
      const found = maps.get(map)?.[key];
      if (found === undefined) throw new Error(`${name} reads ${map}.${key}, which no ConfigMap defines`);
      return [name, found];
    }
    return [name, value ?? ''];
  });
  return {
    ...imageEnvironment,
    HOSTNAME: POD_HOSTNAME,
    ...Object.fromEntries(fromConfigMaps.flatMap(Object.entries)),
    ...Object.fromEntries(own),
  };
}
export const settingsOf = (workload: Workload): Config => loadConfig(environmentOf(mainContainer(workload)));

// --- ports, selectors, routes, quantities -------------------------------------------------------------

/** A container port by number or by name, as probes, Services and annotations may give it. */
export function resolvePort(container: Container, port: number | string | undefined): number | undefined {
  if (typeof port === 'number') return (container.ports ?? []).some((entry) => entry.containerPort === port) ? port : undefined;
  if (typeof port === 'string' && /^\d+$/.test(port)) return resolvePort(container, Number(port));
  return (container.ports ?? []).find((entry) => entry.name === port)?.containerPort;
}
export const declaredPorts = (container: Container) => (container.ports ?? []).map((entry) => entry.containerPort).sort();

export const selects = (selector: LabelSelector | undefined, labels: Labels | undefined) => {
  const wanted = Object.entries(selector?.matchLabels ?? {});
  return wanted.length > 0 && wanted.every(([key, value]) => labels?.[key] === value);
};
export const podsSelectedBy = (selector: LabelSelector | undefined, among = deployments) =>
  among.filter((entry) => selects(selector, entry.spec?.template?.metadata?.labels));
/** A Service's `selector` is a plain label map. */
export const serviceSelector = (service: Service): LabelSelector => ({ matchLabels: service.spec?.selector ?? {} });

/** The app/ file that answers GET `path`: a route handler exporting GET, or a page. */
export function appFileServing(path: string): string | undefined {
  const dir = `app${path.split('?')[0]?.replace(/\/$/, '') ?? ''}`;
  const route = `${dir}/route.ts`;
  if (existsSync(repoUrl(route)) && /export\s+(?:async\s+)?function\s+GET\b|export\s+const\s+GET\b/.test(readRepoFile(route))) {
    return route;
  }
  const page = `${dir}/page.tsx`;
  return existsSync(repoUrl(page)) ? page : undefined;
}

/** Kubernetes quantities in bytes (memory) or cores (cpu), for comparing requests with limits. */
export function quantity(value: string | number | undefined): number {
  if (typeof value === 'number') return value;
  const match = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi|k|M|G)?$/.exec(value ?? '');
  if (!match) return Number.NaN;
  const factors: Record<string, number> = { m: 1e-3, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, k: 1e3, M: 1e6, G: 1e9 };
  return Number(match[1]) * (factors[match[2] ?? ''] ?? 1);
}

export const probesOf = (container: Container) =>
  (['startupProbe', 'readinessProbe', 'livenessProbe'] as const).flatMap((kind) => {
    const probe = container[kind];
    return probe ? [{ kind, probe }] : [];
  });

// --- the real worker metrics server --------------------------------------------------------------

export const METRICS_TOKEN = 'k8s-manifests-test-token-0123456789';
const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * A worker's metrics server on a free port, behind METRICS_TOKEN, with a registry of its own and
 * no Valkey or PostgreSQL behind it: what a probe or a scrape of a worker pod would reach.
 */
export async function startWorkerMetricsServer(): Promise<MetricsServer> {
  const server = await startMetricsServer({ port: 0, token: METRICS_TOKEN, metrics: createMetrics(), log: quiet });
  if (!server) throw new Error('the worker metrics server did not start');
  return server;
}
