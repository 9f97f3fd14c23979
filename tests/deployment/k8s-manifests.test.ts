// infra/k8s, kept honest without a cluster: every document parses into a kind Kubernetes (or KEDA)
// knows, with the fields it needs; every container runs the command of its npm script on the image
// infra/Dockerfile builds, sets only variables lib/config.ts reads and takes its secrets from the
// operator's Secret; and each queue has one worker Deployment, which outlasts its own shutdown
// deadline. Where the processes listen and what their probes ask:
// tests/deployment/k8s-ports-and-probes.test.ts; scaling, disruption budgets and database connections:
// tests/deployment/k8s-scaling.test.ts.
import { describe, expect, it } from 'vitest';
import { QUEUE_NAMES } from '@/lib/config';
import { configKeys, copiedRepoPaths, isBuildOutput, packageJson, readRepoFile, scriptArgv } from './support/container-files';
import {
  composeImage,
  componentOf,
  configMaps,
  CONTAINER_FIELDS,
  containersOf,
  deployment,
  deployments,
  environmentOf,
  files,
  jobs,
  KNOWN_KINDS,
  mainContainer,
  manifests,
  nameOf,
  ofKind,
  parseProblems,
  POD_SPEC_FIELDS,
  podsSelectedBy,
  PROBE_HANDLERS,
  probesOf,
  quantity,
  runtime,
  scriptOf,
  SECRET_NAME,
  SECRET_STAND_INS,
  selects,
  settingsOf,
  workers,
  type Workload,
} from './support/k8s-manifests';

/** Read by Next's standalone server (it binds to HOSTNAME), not by lib/config.ts. */
const NEXT_VARIABLES = ['HOSTNAME', 'NEXT_TELEMETRY_DISABLED'];

describe('infra/k8s', () => {
  describe('as Kubernetes objects', () => {
    it('parses, every document of every file, without errors or warnings', () => {
      expect(files.length).toBeGreaterThan(0);
      expect(parseProblems).toEqual([]);
      expect(manifests.length).toBeGreaterThan(files.length);
    });

    it('holds only known kinds at their apiVersion, each named and in the one namespace it creates', () => {
      const namespaces = ofKind('Namespace').map(nameOf);
      expect(namespaces).toHaveLength(1);
      const seen = new Set<string>();
      for (const { file, object } of manifests) {
        const where = `${file}: ${object.kind} ${nameOf(object)}`;
        expect(Object.keys(KNOWN_KINDS), where).toContain(object.kind);
        expect(object.apiVersion, where).toBe(KNOWN_KINDS[object.kind ?? '']);
        expect(object.metadata?.name, where).toMatch(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
        if (object.kind !== 'Namespace') expect(object.metadata?.namespace, where).toBe(namespaces[0]);
        expect(seen.has(`${object.kind}/${nameOf(object)}`), `${where} defined twice`).toBe(false);
        seen.add(`${object.kind}/${nameOf(object)}`);
      }
      for (const kind of Object.keys(KNOWN_KINDS)) expect(ofKind(kind).length, kind).toBeGreaterThan(0);
    });

    it('selects, in every Deployment, the labels of its own pod template and no other Deployment’s', () => {
      for (const entry of deployments) {
        const selector = entry.spec?.selector;
        expect(selector?.matchExpressions, nameOf(entry)).toBeUndefined();
        const ownLabels = entry.spec?.template?.metadata?.labels;
        expect(selects(selector, ownLabels), `${nameOf(entry)}: selector ⊆ template labels`).toBe(true);
        expect(podsSelectedBy(selector).map(nameOf), nameOf(entry)).toEqual([nameOf(entry)]);
      }
    });

    it('gives every container the image infra/Dockerfile builds, a command, resources and only known fields', () => {
      expect(composeImage).toBeTruthy();
      for (const workload of [...deployments, ...jobs]) {
        const podSpec = workload.spec?.template?.spec ?? {};
        const unknownPodFields = Object.keys(podSpec).filter((key) => !POD_SPEC_FIELDS.has(key));
        expect(unknownPodFields, nameOf(workload)).toEqual([]);
        for (const container of containersOf(workload)) {
          const where = `${nameOf(workload)}/${container.name}`;
          expect(Object.keys(container).filter((key) => !CONTAINER_FIELDS.has(key)), where).toEqual([]);
          expect(container.image, where).toBe(composeImage);
          expect(container.command?.length, where).toBeGreaterThan(0);
          const { requests = {}, limits = {} } = container.resources ?? {};
          expect(quantity(requests.cpu), `${where} requests cpu`).toBeGreaterThan(0);
          expect(quantity(requests.memory), `${where} requests memory`).toBeGreaterThan(0);
          expect(quantity(limits.memory), `${where}: memory limit ≥ request`).toBeGreaterThanOrEqual(quantity(requests.memory));
        }
      }
    });

    it('requests more CPU for the web than for any worker, and limits no one\'s CPU', () => {
      const web = deployments.filter((workload) => componentOf(workload) === 'web');
      const workers = deployments.filter((workload) => componentOf(workload)?.startsWith('worker'));
      expect(web).toHaveLength(1);
      expect(workers.length).toBeGreaterThan(0);
      const cpu = (workload: Workload) => quantity(mainContainer(workload).resources?.requests?.cpu);
      for (const worker of workers) expect(cpu(worker), nameOf(worker)).toBeLessThan(cpu(web[0] as Workload));
      for (const workload of deployments) {
        expect(mainContainer(workload).resources?.limits?.cpu, `${nameOf(workload)}: no CPU limit`).toBeUndefined();
      }
    });

    it('gives every long-running container readiness and liveness probes, each with one handler', () => {
      expect(deployments.length).toBeGreaterThan(0);
      for (const workload of deployments) {
        const container = mainContainer(workload);
        expect(container.readinessProbe, `${nameOf(workload)} readinessProbe`).toBeDefined();
        expect(container.livenessProbe, `${nameOf(workload)} livenessProbe`).toBeDefined();
        for (const { kind, probe } of probesOf(container)) {
          const handlers = PROBE_HANDLERS.filter((handler) => probe[handler] !== undefined);
          expect(handlers, `${nameOf(workload)} ${kind}`).toHaveLength(1);
        }
      }
    });
  });

  describe('the processes', () => {
    it('run the command of their npm script, on a file the image contains', () => {
      const scripts = packageJson().scripts;
      const copied = copiedRepoPaths(runtime);
      const workloads = [...deployments, ...jobs];
      // The mocks are the demo overlay's (tests/deployment/k8s-demo.test.ts).
      expect(new Set(workloads.map((workload) => scriptOf(componentOf(workload))))).toEqual(
        new Set(['web', 'workers', 'db:migrate']),
      );
      for (const workload of workloads) {
        const script = scriptOf(componentOf(workload));
        expect(script, `${nameOf(workload)}: component label names a process`).toBeDefined();
        const { argv, assignments } = scriptArgv(scripts[script ?? ''] ?? '');
        const container = mainContainer(workload);
        expect(container.command, nameOf(workload)).toEqual(argv);
        expect(container.args, nameOf(workload)).toBeUndefined();
        // Kubernetes sets HOSTNAME to the pod's name over the image's ENV: the pod must set it itself.
        expect(environmentOf(container), `${nameOf(workload)}: what \`npm run ${script}\` sets`).toMatchObject(assignments);
        const entry = argv.at(-1) ?? '';
        expect(copied.some((copy) => entry === copy || entry.startsWith(`${copy}/`)), `${entry} in the image`).toBe(true);
        expect(isBuildOutput(entry), `npm run build writes ${entry}`).toBe(true);
      }
    });

    it('set only environment variables the app reads, as strings, from ConfigMaps that exist', () => {
      const known = new Set([...configKeys(), ...NEXT_VARIABLES]);
      expect(known).toContain('DATABASE_URL');
      // The API server refuses a number or a boolean where a string goes (`value: 10000`).
      const nonStrings = (values: unknown[]) => values.filter((value) => typeof value !== 'string');
      for (const [name, data] of configMaps) {
        expect(Object.keys(data).filter((key) => !known.has(key)), `ConfigMap ${name}`).toEqual([]);
        expect(nonStrings(Object.values(data)), `ConfigMap ${name}`).toEqual([]);
      }
      for (const workload of [...deployments, ...jobs]) {
        const template = workload.spec?.template?.metadata;
        const metadataValues = [template?.labels, template?.annotations, workload.metadata?.labels].flatMap((map) =>
          Object.values(map ?? {}),
        );
        expect(nonStrings(metadataValues), `${nameOf(workload)} labels and annotations`).toEqual([]);
        for (const container of containersOf(workload)) {
          const literals = (container.env ?? []).filter((variable) => !variable.valueFrom).map((variable) => variable.value);
          expect(nonStrings(literals), nameOf(workload)).toEqual([]);
          const names = (container.env ?? []).map((variable) => variable.name);
          expect(names.filter((name) => !known.has(name)), nameOf(workload)).toEqual([]);
          expect(new Set(names).size, `${nameOf(workload)}: a variable set twice`).toBe(names.length);
          expect(() => environmentOf(container), nameOf(workload)).not.toThrow();
          // Kubernetes' service-link variables (MOCKS_PORT=tcp://…) would sit beside MOCKS_HTTP_PORT.
          expect(workload.spec?.template?.spec?.enableServiceLinks, nameOf(workload)).toBe(false);
        }
      }
    });

    it('take every secret from the operator’s Secret, which no manifest defines or fills in', () => {
      expect(manifests.some(({ object }) => object.kind === 'Secret')).toBe(false);
      const secretKeys = Object.keys(SECRET_STAND_INS);
      for (const [name, data] of configMaps) {
        expect(Object.keys(data).filter((key) => secretKeys.includes(key)), `ConfigMap ${name}`).toEqual([]);
      }
      for (const workload of [...deployments, ...jobs]) {
        for (const container of containersOf(workload)) {
          expect(container.envFrom?.filter((source) => source.secretRef) ?? [], nameOf(workload)).toEqual([]);
          for (const variable of container.env ?? []) {
            const ref = variable.valueFrom?.secretKeyRef;
            if (secretKeys.includes(variable.name)) expect(ref, `${nameOf(workload)} ${variable.name}`).toBeDefined();
            if (ref) expect(ref, `${nameOf(workload)} ${variable.name}`).toMatchObject({ name: SECRET_NAME, key: variable.name });
          }
        }
      }
      const secretsOf = (workload: Workload) =>
        (mainContainer(workload).env ?? [])
          .filter((variable) => variable.valueFrom?.secretKeyRef && !variable.valueFrom.secretKeyRef.optional)
          .map((variable) => variable.name)
          .sort();
      // Production refuses to start without ADMIN_PASSWORD and SESSION_SECRET; without METRICS_TOKEN, /metrics answers anyone.
      expect(secretsOf(deployment('web'))).toEqual(['ADMIN_PASSWORD', 'DATABASE_URL', 'METRICS_TOKEN', 'SESSION_SECRET']);
      expect(workers.length).toBeGreaterThan(0);
      for (const worker of workers) expect(secretsOf(worker), nameOf(worker)).toEqual(['DATABASE_URL', 'METRICS_TOKEN']);
      expect(jobs.map(secretsOf)).toEqual([['DATABASE_URL']]);
      // Only the demo's mocks need MOCKS_TOKEN, and a provider needs a key only if it asks for one: a
      // Secret without them must still start every pod. Each worker gets the key of the provider its
      // queue calls, and every worker the alert webhook's (each sends dead-letter alerts).
      const optional = (workload: Workload) =>
        (mainContainer(workload).env ?? [])
          .filter((variable) => variable.valueFrom?.secretKeyRef?.optional)
          .map((variable) => variable.name)
          .sort();
      expect(optional(deployment('web'))).toEqual(['MOCKS_TOKEN', 'STORAGE_API_KEY']);
      const providerKeys: Record<string, string[]> = {
        email: ['ALERT_WEBHOOK_API_KEY', 'EMAIL_API_KEY', 'SMTP_PASSWORD'],
        crm: ['ALERT_WEBHOOK_API_KEY', 'CRM_API_KEY'],
        avatar: ['ALERT_WEBHOOK_API_KEY', 'STORAGE_API_KEY'],
        analytics: ['ALERT_WEBHOOK_API_KEY', 'ANALYTICS_API_KEY'],
      };
      for (const worker of workers) {
        const queues = settingsOf(worker).workerQueues;
        expect(optional(worker), nameOf(worker)).toEqual([...new Set(queues.flatMap((queue) => providerKeys[queue] ?? []))].sort());
      }
      for (const job of jobs) expect(optional(job), nameOf(job)).toEqual([]);
    });

    it('run in production mode with the secrets lib/config.ts needs there', () => {
      for (const workload of [deployment('web'), ...workers]) {
        const settings = settingsOf(workload);
        expect(settings.nodeEnv, nameOf(workload)).toBe('production');
        expect(settings.databaseUrl, nameOf(workload)).toBe(SECRET_STAND_INS.DATABASE_URL);
        expect(settings.metrics.token, nameOf(workload)).toBe(SECRET_STAND_INS.METRICS_TOKEN);
      }
      expect(settingsOf(deployment('web')).admin.password).toBe(SECRET_STAND_INS.ADMIN_PASSWORD);
      expect(settingsOf(deployment('web')).admin.sessionSecret).toBe(SECRET_STAND_INS.SESSION_SECRET);
      // A provider's key, when the Secret holds one, reaches the process that calls that provider.
      const workerFor = (queue: string) => workers.find((worker) => settingsOf(worker).workerQueues.includes(queue as never)) ?? {};
      expect(settingsOf(workerFor('crm')).providers.crm.apiKey?.value).toBe(SECRET_STAND_INS.CRM_API_KEY);
      expect(settingsOf(workerFor('avatar')).providers.storage.apiKey?.value).toBe(SECRET_STAND_INS.STORAGE_API_KEY);
      expect(settingsOf(deployment('web')).providers.storage.apiKey?.value).toBe(SECRET_STAND_INS.STORAGE_API_KEY);
      expect(settingsOf(workerFor('analytics')).providers.analytics.apiKey?.value).toBe(SECRET_STAND_INS.ANALYTICS_API_KEY);
      expect(settingsOf(workerFor('email')).providers.smtp.auth?.pass).toBe(SECRET_STAND_INS.SMTP_PASSWORD);
      for (const worker of workers) expect(settingsOf(worker).alerts.webhookKey?.value, nameOf(worker)).toBe(SECRET_STAND_INS.ALERT_WEBHOOK_API_KEY);
    });
  });

  describe('workers', () => {
    it('run one Deployment per queue, each serving exactly that queue', () => {
      const served = workers.map((worker) => settingsOf(worker).workerQueues);
      for (const [index, queues] of served.entries()) expect(queues, nameOf(workers[index] ?? {})).toHaveLength(1);
      expect(served.flat().sort()).toEqual([...QUEUE_NAMES].sort());
    });

    it('get longer to stop than their own shutdown deadline, set explicitly beside it', () => {
      // workers/main.ts: after SIGTERM, running jobs get the deadline, and the process exits at the
      // latest this much later, even when a connection never closes.
      const net = /workerShutdownDeadlineMs \+ ([\d_]+)\)/.exec(readRepoFile('workers/main.ts'))?.[1];
      expect(net, "workers/main.ts's exit net").toBeDefined();
      for (const worker of workers) {
        const explicit = mainContainer(worker).env?.find((variable) => variable.name === 'WORKER_SHUTDOWN_DEADLINE_MS');
        expect(explicit?.value, nameOf(worker)).toBeDefined();
        const deadlineMs = settingsOf(worker).workerShutdownDeadlineMs;
        const graceMs = (worker.spec?.template?.spec?.terminationGracePeriodSeconds ?? 30) * 1_000;
        expect(graceMs, nameOf(worker)).toBeGreaterThan(deadlineMs);
        expect(graceMs, `${nameOf(worker)}: the exit net too`).toBeGreaterThan(deadlineMs + Number(net?.replaceAll('_', '')));
      }
    });
  });
});
