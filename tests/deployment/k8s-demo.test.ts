// infra/k8s/demo, the opt-in overlay that runs the mock providers in the cluster, and the default
// set's independence from it: `kubectl apply -f infra/k8s/` deploys no mocks and points no process
// at them; the overlay's mocks, bound beyond loopback, take MOCKS_TOKEN from the operator's Secret,
// which the web's fault panel sends too; and their probes and token are asked of a real mock
// provider server started as the overlay configures it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '@/lib/config';
import { exposureProblem, isLoopback } from '@/infra/mock-providers/control-auth';
import { startMockProviders, type MockProviders } from '@/infra/mock-providers/start-mock-providers';
import { configKeys, packageJson, scriptArgv } from './support/container-files';
import {
  componentOf,
  composeImage,
  configMaps,
  CONTAINER_FIELDS,
  declaredPorts,
  deployment,
  deployments,
  environmentOf,
  isDemo,
  jobs,
  KNOWN_KINDS,
  loadManifests,
  mainContainer,
  manifests,
  nameOf,
  ofKind,
  podsSelectedBy,
  POD_SPEC_FIELDS,
  probesOf,
  resolvePort,
  SECRET_NAME,
  SECRET_STAND_INS,
  serviceSelector,
  services,
  settingsOf,
  workers,
  type ConfigMap,
  type Service,
  type Workload,
} from './support/k8s-manifests';

const demo = loadManifests('infra/k8s/demo');
const demoConfigMaps = new Map(ofKind<ConfigMap>('ConfigMap', demo.manifests).map((map) => [nameOf(map), map.data ?? {}]));
const demoDeployments = ofKind<Workload>('Deployment', demo.manifests);
const demoServices = ofKind<Service>('Service', demo.manifests);
/** The cluster after the demo's apply order: the default set, its ConfigMap replaced by the demo's, and the mocks. */
const inCluster = {
  configMaps: new Map([...configMaps, ...demoConfigMaps]),
  deployments: [...deployments, ...demoDeployments],
  services: [...services, ...demoServices],
};
/** The demo's Secret: the mocks need no provider credentials, so it holds none. */
const DEMO_SECRETS = Object.fromEntries(Object.entries(SECRET_STAND_INS).filter(([key]) => !/_API_KEY$|^SMTP_PASSWORD$/.test(key)));
const demoSettingsOf = (workload: Workload): Config =>
  loadConfig(environmentOf(mainContainer(workload), inCluster.configMaps, DEMO_SECRETS));
/** The only keys the demo's signup-config may change: where the providers are. */
const PROVIDER_KEYS = [
  'MOCKS_HOST',
  'MOCKS_HTTP_PORT',
  'MOCKS_SMTP_PORT',
  'SMTP_URL',
  'CRM_URL',
  'STORAGE_URL',
  'ANALYTICS_URL',
  'ALERT_WEBHOOK_URL',
];
const without = (data: Record<string, string> | undefined, keys: string[]) =>
  Object.fromEntries(Object.entries(data ?? {}).filter(([key]) => !keys.includes(key)));
const mocksEntry = scriptArgv(packageJson().scripts.mocks ?? '').argv.at(-1) ?? '';

function theMocks(): Workload {
  const found = demoDeployments.filter((entry) => componentOf(entry) === 'mocks');
  expect(found.map(nameOf)).toHaveLength(1);
  return found[0] as Workload;
}

describe('infra/k8s, the default set', () => {
  it('deploys no mock providers and holds nothing marked demo only', () => {
    expect(deployments.length).toBeGreaterThan(0);
    expect(deployments.map(componentOf)).not.toContain('mocks');
    for (const workload of [...deployments, ...jobs]) {
      expect(mainContainer(workload).command, nameOf(workload)).not.toContain(mocksEntry);
    }
    expect(manifests.filter(({ object }) => isDemo(object)).map(({ file, object }) => `${file}: ${nameOf(object)}`)).toEqual([]);
  });

  it('points no process at the mocks: the providers are wherever the operator says, never a Service here', () => {
    const serviceNames = [...services, ...demoServices].map(nameOf);
    for (const workload of [deployment('web'), ...workers]) {
      const settings = settingsOf(workload);
      const { crm, storage, analytics, smtp } = settings.providers;
      const hosts = [...[crm, storage, analytics].map(({ url }) => new URL(url).hostname), smtp.host];
      if (settings.alerts.webhookUrl) hosts.push(new URL(settings.alerts.webhookUrl).hostname);
      for (const host of hosts) {
        expect(serviceNames, `${nameOf(workload)} → ${host}`).not.toContain(host);
        // In a pod, loopback is the pod itself, where no provider runs.
        expect(isLoopback(host), `${nameOf(workload)} → ${host}`).toBe(false);
      }
    }
  });
});

describe('infra/k8s/demo, the opt-in overlay', () => {
  let mocksServer: MockProviders | undefined;
  afterAll(() => mocksServer?.close());

  it('parses into known kinds, in the one namespace, every object marked demo only', () => {
    expect(demo.parseProblems).toEqual([]);
    const namespace = nameOf(ofKind('Namespace')[0] ?? {});
    expect(demo.manifests.length).toBeGreaterThan(0);
    for (const { file, object } of demo.manifests) {
      const where = `${file}: ${object.kind} ${nameOf(object)}`;
      expect(object.apiVersion, where).toBe(KNOWN_KINDS[object.kind ?? '']);
      expect(object.metadata?.namespace, where).toBe(namespace);
      expect(isDemo(object), where).toBe(true);
    }
    expect(demo.manifests.map(({ object }) => object.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'Service']);
  });

  it('replaces signup-config only where the providers are', () => {
    expect([...demoConfigMaps.keys()]).toEqual(['signup-config']);
    const replaced = demoConfigMaps.get('signup-config');
    expect(without(replaced, PROVIDER_KEYS)).toEqual(without(configMaps.get('signup-config'), PROVIDER_KEYS));
    const known = new Set(configKeys());
    expect(Object.keys(replaced ?? {}).filter((key) => !known.has(key))).toEqual([]);
    expect(Object.values(replaced ?? {}).filter((value) => typeof value !== 'string')).toEqual([]);
  });

  it('runs `npm run mocks` from the one image, with known fields, resources and probes', () => {
    const workload = theMocks();
    const container = mainContainer(workload);
    expect(container.image).toBe(composeImage);
    expect(container.command).toEqual(scriptArgv(packageJson().scripts.mocks ?? '').argv);
    expect(Object.keys(container).filter((key) => !CONTAINER_FIELDS.has(key))).toEqual([]);
    expect(Object.keys(workload.spec?.template?.spec ?? {}).filter((key) => !POD_SPEC_FIELDS.has(key))).toEqual([]);
    expect(workload.spec?.template?.spec?.enableServiceLinks).toBe(false);
    expect(container.resources?.requests?.memory).toBeDefined();
    expect(container.readinessProbe).toBeDefined();
    expect(container.livenessProbe).toBeDefined();
  });

  it("binds the mocks beyond loopback with MOCKS_TOKEN from the operator's Secret, the key the web sends", () => {
    const workload = theMocks();
    const settings = demoSettingsOf(workload);
    // Service mocks reaches the pod's address, never its loopback.
    expect(isLoopback(settings.mocks.bind)).toBe(false);
    const token = mainContainer(workload).env?.find((variable) => variable.name === 'MOCKS_TOKEN');
    // Not optional: without the key the pod must not start at all.
    expect(token?.valueFrom?.secretKeyRef).toEqual({ name: SECRET_NAME, key: 'MOCKS_TOKEN' });
    expect(settings.mocks.token).toBe(SECRET_STAND_INS.MOCKS_TOKEN);
    expect(exposureProblem(settings.mocks.bind, settings.mocks.token)).toBeUndefined();
    const webToken = mainContainer(deployment('web')).env?.find((variable) => variable.name === 'MOCKS_TOKEN');
    expect(webToken?.valueFrom?.secretKeyRef).toMatchObject({ name: SECRET_NAME, key: 'MOCKS_TOKEN' });
    expect(demoSettingsOf(deployment('web')).mocks.token).toBe(settings.mocks.token);
  });

  it('has the web and the workers reach the mocks through Service mocks at the ports they dial', () => {
    const mocks = demoSettingsOf(theMocks()).mocks;
    expect(declaredPorts(mainContainer(theMocks()))).toEqual([mocks.httpPort, mocks.smtpPort].sort());
    const routeOf = (host: string, port: number) => {
      const service = inCluster.services.find((entry) => nameOf(entry) === host);
      const entry = service?.spec?.ports?.find((candidate) => candidate.port === port);
      const [pod, ...more] = podsSelectedBy(service ? serviceSelector(service) : undefined, inCluster.deployments);
      return pod && more.length === 0 && entry ? resolvePort(mainContainer(pod), entry.targetPort ?? entry.port) : undefined;
    };
    for (const workload of [deployment('web'), ...workers]) {
      const settings = demoSettingsOf(workload);
      for (const { url } of [settings.providers.crm, settings.providers.storage, settings.providers.analytics]) {
        const http = new URL(url);
        expect(routeOf(http.hostname, Number(http.port)), `${nameOf(workload)} → ${http.host}`).toBe(mocks.httpPort);
      }
      const { host, port } = settings.providers.smtp;
      expect(routeOf(host, port), `${nameOf(workload)} → ${host}:${port}`).toBe(mocks.smtpPort);
    }
    for (const worker of workers) {
      const alerts = new URL(demoSettingsOf(worker).alerts.webhookUrl ?? 'http://unset');
      expect(routeOf(alerts.hostname, Number(alerts.port)), `${nameOf(worker)} alerts`).toBe(mocks.httpPort);
    }
  });

  describe('on a real mock server set up as the overlay sets it up', () => {
    let settings: Config['mocks'];
    beforeAll(async () => {
      settings = demoSettingsOf(theMocks()).mocks;
      mocksServer = await startMockProviders({ httpPort: 0, smtpPort: 0, host: settings.bind, token: settings.token });
    });

    it('answers the probes without the token, which the kubelet cannot send', async () => {
      const container = mainContainer(theMocks());
      expect(probesOf(container).length).toBeGreaterThan(0);
      for (const { kind, probe } of probesOf(container)) {
        expect(resolvePort(container, probe.httpGet?.port), kind).toBe(settings.httpPort);
        expect(probe.httpGet?.httpHeaders, kind).toBeUndefined();
        const response = await fetch(`http://127.0.0.1:${mocksServer?.httpPort}${probe.httpGet?.path ?? '(none)'}`);
        expect(response.status, `${kind} ${probe.httpGet?.path}`).toBe(200);
      }
    });

    it("answers the fault switches only with the Secret's token, and would not start without it", async () => {
      const faults = `http://127.0.0.1:${mocksServer?.httpPort}/__faults`;
      expect((await fetch(faults)).status).toBe(401);
      expect((await fetch(faults, { headers: { authorization: `Bearer ${SECRET_STAND_INS.MOCKS_TOKEN}` } })).status).toBe(200);
      await expect(startMockProviders({ httpPort: 0, smtpPort: 0, host: settings.bind })).rejects.toThrow(/set MOCKS_TOKEN/);
    });
  });
});
