// infra/k8s's ports and probes, against the code and the real servers: lib/config.ts, reading each
// pod's environment, puts every declared port, Service and scrape target where the process really
// listens; the web's probes hit routes the app has, and keep it in service through a store outage;
// the workers' probes and scrape path are asked of a real worker metrics server (with no Valkey or
// PostgreSQL behind it). The demo's mocks: tests/deployment/k8s-demo.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_NAMES } from '@/lib/config';
import type { MetricsServer } from '@/workers/runtime/metrics-server';
import {
  appFileServing,
  declaredPorts,
  deployment,
  environmentOf,
  mainContainer,
  METRICS_TOKEN,
  nameOf,
  podsSelectedBy,
  probesOf,
  resolvePort,
  serviceSelector,
  services,
  settingsOf,
  startWorkerMetricsServer,
  workers,
} from './support/k8s-manifests';

/** Unauthenticated (load balancers call it), 503 when PostgreSQL or Valkey is unreachable (its route.ts). */
const HEALTH_ROUTE = '/api/health';

let metricsServer: MetricsServer;

beforeAll(async () => {
  metricsServer = await startWorkerMetricsServer();
});
afterAll(async () => {
  await metricsServer?.close();
});

describe('infra/k8s', () => {
  describe('ports, Services and scrape targets', () => {
    it('declare, on each container, exactly the ports lib/config.ts says its process listens on', () => {
      const web = settingsOf(deployment('web'));
      expect(declaredPorts(mainContainer(deployment('web')))).toEqual([web.port]);
      expect(environmentOf(mainContainer(deployment('web'))).HOSTNAME).toBe('0.0.0.0');
      for (const worker of workers) {
        expect(declaredPorts(mainContainer(worker)), nameOf(worker)).toEqual([settingsOf(worker).metrics.workerPort]);
      }
    });

    it('route every Service to ports its pods declare', () => {
      expect(services.length).toBeGreaterThan(0);
      for (const service of services) {
        const selected = podsSelectedBy(serviceSelector(service));
        expect(selected, `Service ${nameOf(service)} selects one Deployment`).toHaveLength(1);
        for (const port of service.spec?.ports ?? []) {
          const target = resolvePort(mainContainer(selected[0] ?? {}), port.targetPort ?? port.port);
          expect(target, `Service ${nameOf(service)} port ${port.name}`).toBeDefined();
        }
      }
      const webService = services.find((entry) => podsSelectedBy(serviceSelector(entry)).includes(deployment('web')));
      const webTarget = webService?.spec?.ports?.map((port) => resolvePort(mainContainer(deployment('web')), port.targetPort));
      expect(webTarget).toEqual([settingsOf(deployment('web')).port]);
    });

    it('have Prometheus scrape the web and every worker where their metrics are served', async () => {
      const web = deployment('web');
      const webAnnotations = web.spec?.template?.metadata?.annotations ?? {};
      expect(webAnnotations['prometheus.io/scrape']).toBe('true');
      expect(Number(webAnnotations['prometheus.io/port'])).toBe(settingsOf(web).port);
      expect(appFileServing(webAnnotations['prometheus.io/path'] ?? '')).toBe('app/api/metrics/route.ts');
      expect(workers.length).toBe(QUEUE_NAMES.length);
      for (const worker of workers) {
        const annotations = worker.spec?.template?.metadata?.annotations ?? {};
        expect(annotations['prometheus.io/scrape'], nameOf(worker)).toBe('true');
        expect(Number(annotations['prometheus.io/port']), nameOf(worker)).toBe(settingsOf(worker).metrics.workerPort);
        const response = await fetch(`http://127.0.0.1:${metricsServer.port}${annotations['prometheus.io/path'] ?? ''}`, {
          headers: { authorization: `Bearer ${METRICS_TOKEN}` },
        });
        const where = `${nameOf(worker)}: ${annotations['prometheus.io/path']}`;
        expect(response.status, where).toBe(200);
        // The registry itself, not another route that answers 200 (such as the probes' /healthz).
        expect(response.headers.get('content-type'), where).toMatch(/^text\/plain; version=0\.0\.4/);
      }
    });
  });

  describe('probes', () => {
    it('probe the web on routes the app has, and keep it in service through a Valkey outage', () => {
      const container = mainContainer(deployment('web'));
      const port = settingsOf(deployment('web')).port;
      expect(appFileServing(HEALTH_ROUTE)).toBe('app/api/health/route.ts');
      const probes = probesOf(container);
      expect(probes.map(({ kind }) => kind).sort()).toEqual(['livenessProbe', 'readinessProbe', 'startupProbe']);
      for (const { kind, probe } of probes) {
        expect(resolvePort(container, probe.httpGet?.port), kind).toBe(port);
        expect(appFileServing(probe.httpGet?.path ?? ''), `${kind} ${probe.httpGet?.path}`).toBeDefined();
      }
      // A new pod takes traffic once it has reached both stores...
      expect(container.startupProbe?.httpGet?.path).toBe(HEALTH_ROUTE);
      // ...but signups answer 201 without Valkey, and the app's own 503 without PostgreSQL: an
      // outage must not empty the Service or restart every pod.
      expect(container.readinessProbe?.httpGet?.path).not.toBe(HEALTH_ROUTE);
      expect(container.livenessProbe?.httpGet?.path).not.toBe(HEALTH_ROUTE);
    });

    it('probe each worker on its metrics port, at a route the real server answers 200 without the token', async () => {
      for (const worker of workers) {
        const container = mainContainer(worker);
        const { workerPort } = settingsOf(worker).metrics;
        const probes = probesOf(container);
        expect(probes.map(({ kind }) => kind).sort(), nameOf(worker)).toEqual(['livenessProbe', 'readinessProbe', 'startupProbe']);
        for (const { kind, probe } of probes) {
          const where = `${nameOf(worker)} ${kind} ${probe.httpGet?.path}`;
          expect(resolvePort(container, probe.httpGet?.port), where).toBe(workerPort);
          // The kubelet cannot read a Secret into a probe's headers: the route must not need the token.
          expect(probe.httpGet?.httpHeaders, where).toBeUndefined();
          // The server here has no Valkey or PostgreSQL behind it: the route answers without either.
          const response = await fetch(`http://127.0.0.1:${metricsServer.port}${probe.httpGet?.path ?? '(none)'}`);
          expect(response.status, where).toBe(200);
          // The kubelet's default of 1 s would count a busy event loop (a burst of completions, GC) as dead.
          expect(probe.timeoutSeconds, where).toBeGreaterThanOrEqual(3);
        }
      }
    });
  });
});
