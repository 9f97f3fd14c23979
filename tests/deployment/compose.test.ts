// docker-compose.yml, kept honest without a Docker engine: it is valid against the Compose
// specification's JSON schema (as shipped by dclint); every app service runs the command of an npm
// script on a file the image contains, sets only variables lib/config.ts reads and, parsed by
// lib/config.ts, points at services that exist; the workers' healthcheck passes against a real
// metrics server; nothing starts before what it needs is healthy; Prometheus and Grafana are
// mounted where their own files expect; and with no .env at all, the `secrets` service's real
// script (run here into a temporary folder standing in for the volume) gives every service the
// secrets it needs, the same ones. The image itself: tests/deployment/container-image.test.ts.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadConfig, webStartProblem } from '@/lib/config';
import { initSecrets } from '@/scripts/init-secrets';
import { exposureProblem, isLoopback } from '@/infra/mock-providers/control-auth';
import { createMetrics } from '@/lib/metrics';
import { startMetricsServer } from '@/workers/runtime/metrics-server';
import {
  commandOf,
  configKeys,
  copiedRepoPaths,
  environmentOf,
  interpolatedNames,
  loadCompose,
  dockerfileStages,
  packageJson,
  parseEnvFile,
  readRepoFile,
  isBuildOutput,
  scriptArgv,
  stageEnvironment,
  type ComposeFile,
  type ComposeService,
} from './support/container-files';

const composeText = readRepoFile('docker-compose.yml');
const example = parseEnvFile(readRepoFile('.env.example'));
// What an operator puts in .env: the example, with its required values filled in.
const dotEnv = {
  ...example,
  ADMIN_PASSWORD: 'compose-test-admin-password',
  SESSION_SECRET: 'compose-test-session-secret-0123456789',
  METRICS_TOKEN: 'compose-test-metrics-token-0123',
  MOCKS_TOKEN: 'compose-test-mocks-token-0123',
};
const compose = loadCompose(composeText, dotEnv);
const services = compose.services;
const pkg = packageJson();
const { runtime } = dockerfileStages();
const imageEnvironment = stageEnvironment(runtime);

/** The services that run this repo's code, with the npm script each one's command must match. */
const APP_SERVICES = { web: 'web', workers: 'workers', mocks: 'mocks', migrate: 'db:migrate' } as const;
/** Read by Next's standalone server (it binds to HOSTNAME), not by lib/config.ts. */
const NEXT_VARIABLES = ['HOSTNAME', 'NEXT_TELEMETRY_DISABLED'];

const service = (name: string) => {
  const found = services[name];
  if (!found) throw new Error(`docker-compose.yml has no ${name} service`);
  return found;
};
/** What a container of the service sees: the image's ENV, then the service's environment. */
const containerEnvironment = (name: string) => ({ ...imageEnvironment, ...environmentOf(service(name)) });

/** Where the services mount the `secrets` service's volume. */
const SECRETS_MOUNT = '/run/signup-secrets';

/**
 * Runs the `secrets` service's script, with the environment compose gives it, into a folder
 * standing in for the volume; returns a service's environment with its *_FILE paths moved there.
 */
async function withSecrets(services: ComposeFile['services']) {
  const volume = mkdtempSync(path.join(tmpdir(), 'signup-secrets-'));
  const secretsService = services.secrets;
  if (!secretsService) throw new Error('docker-compose.yml has no secrets service');
  await initSecrets(volume, environmentOf(secretsService));
  return (name: string) => {
    const found = services[name];
    if (!found) throw new Error(`docker-compose.yml has no ${name} service`);
    const environment: Record<string, string> = { ...imageEnvironment, ...environmentOf(found) };
    for (const [key, value] of Object.entries(environment)) {
      if (key.endsWith('_FILE') && value.startsWith(`${SECRETS_MOUNT}/`)) environment[key] = path.join(volume, value.slice(SECRETS_MOUNT.length));
    }
    return environment;
  };
}
const dependencies = (name: string) =>
  Object.entries(service(name).depends_on ?? {}) as Array<[string, { condition?: string }]>;
const hasHealthcheck = (name: string) => Boolean(service(name).healthcheck?.test) && !service(name).healthcheck?.disable;
const containerPorts = (name: string) => (service(name).ports ?? []).map((port) => Number(port.split(':').at(-1)));
const healthcheckPort = (name: string) =>
  Number(/http:\/\/127\.0\.0\.1:(\d+)\//.exec([service(name).healthcheck?.test ?? []].flat().join(' '))?.[1]);

function composeSchemaValidator() {
  const require = createRequire(import.meta.url);
  const schemaPath = path.join(path.dirname(require.resolve('dclint/package.json')), 'schemas/compose.schema.json');
  const schema = JSON.parse(readFileSync(schemaPath, 'utf8')) as Record<string, unknown>;
  // draft-07 by content; its `$schema` URI is not one Ajv has registered, and nothing else depends on it.
  delete schema.$schema;
  return new Ajv({ allErrors: true, strict: false, allowUnionTypes: true }).compile(schema);
}

describe('docker-compose.yml', () => {
  describe('as a Compose file', () => {
    const validate = composeSchemaValidator();

    it('is valid against the Compose specification', () => {
      const valid = validate(compose);
      expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 2)).toEqual([]);
      expect(valid).toBe(true);
    });

    it('would be refused by that schema with a misspelt key or an unknown start condition', () => {
      const misspelt = structuredClone(compose);
      misspelt.services.web = { ...service('web'), healthchek: {} } as ComposeService;
      expect(validate(misspelt)).toBe(false);
      const wrongCondition = structuredClone(compose);
      wrongCondition.services.web = { ...service('web'), depends_on: { migrate: { condition: 'service_finished' } } };
      expect(validate(wrongCondition)).toBe(false);
    });

    it('documents in .env.example every variable it interpolates', () => {
      const used = interpolatedNames(composeText);
      expect(used.length).toBeGreaterThan(0);
      expect(used.filter((name) => !(name in example))).toEqual([]);
    });

    it('starts with no .env at all: the secrets service makes every secret, and every reader gets the same', async () => {
      const bare = loadCompose(composeText, {});
      const environment = await withSecrets(bare.services);
      const web = loadConfig(environment('web'));
      const workers = loadConfig(environment('workers'));
      const mocks = loadConfig(environment('mocks'));
      // The production web would refuse a missing or short password or session secret.
      expect(webStartProblem(web)).toBeUndefined();
      expect(web.metrics.token).toMatch(/^.{16,}$/);
      expect(workers.metrics.token).toBe(web.metrics.token);
      expect(mocks.mocks.token).toMatch(/^.{16,}$/);
      expect(web.mocks.token).toBe(mocks.mocks.token);
      // Prometheus sends the token from the same file the web and the workers read theirs from.
      expect(environment('web').METRICS_TOKEN_FILE).toBe(environment('workers').METRICS_TOKEN_FILE);
      // No secret sits in any service's environment (a provider's credentials, empty here, only when .env sets them).
      for (const [name, entry] of Object.entries(bare.services)) {
        const values = Object.entries(environmentOf(entry)).filter(
          ([key, value]) => /PASSWORD$|SECRET$|TOKEN$|API_KEY$/.test(key) && value !== '' && name !== 'secrets',
        );
        expect(values.filter(([key]) => key !== 'POSTGRES_PASSWORD'), name).toEqual([]);
      }
      // And the providers are the demo's mocks.
      for (const name of ['web', 'workers']) {
        const { providers, alerts } = loadConfig(environment(name));
        for (const { url } of [providers.crm, providers.storage, providers.analytics]) expect(new URL(url).hostname, name).toBe('mocks');
        expect(providers.smtp.host, name).toBe('mocks');
        if (name === 'workers') expect(new URL(alerts.webhookUrl ?? '').hostname).toBe('mocks');
      }
    });

    it("sends a provider's work to a real service when .env names it, with the credentials .env gives", async () => {
      const real = loadCompose(composeText, {
        CRM_URL: 'https://crm.example.com/v1',
        CRM_API_KEY: 'crm-key-from-dot-env',
        SMTP_URL: 'smtp://signup@smtp.example.com:587',
        SMTP_PASSWORD: 'smtp-password-from-dot-env',
      });
      const workers = loadConfig((await withSecrets(real.services))('workers'));
      expect(workers.providers.crm).toEqual({ url: 'https://crm.example.com/v1', apiKey: { header: 'authorization', value: 'crm-key-from-dot-env' } });
      expect(workers.providers.smtp).toMatchObject({ host: 'smtp.example.com', port: 587, requireTls: true, auth: { user: 'signup', pass: 'smtp-password-from-dot-env' } });
      // The rest stay on the mocks.
      expect(new URL(workers.providers.storage.url).hostname).toBe('mocks');
    });

    it("runs the secrets service first, on the image's own script, writing into the volume the others read", () => {
      const secrets = service('secrets');
      const [node, entry, directory] = commandOf(secrets);
      expect(node).toBe('node');
      expect(isBuildOutput(entry ?? ''), `npm run build writes ${entry}`).toBe(true);
      expect(secrets.volumes).toEqual([`signup-secrets:${directory}`]);
      expect(directory).toBe(SECRETS_MOUNT);
      expect(secrets.restart).toBe('no');
      for (const name of ['web', 'workers', 'mocks']) {
        expect(service(name).volumes, name).toContain(`signup-secrets:${SECRETS_MOUNT}:ro`);
        expect(Object.fromEntries(dependencies(name))).toHaveProperty('secrets', { condition: 'service_completed_successfully' });
      }
    });
  });

  describe('the app services', () => {
    it("all run the one image, built from infra/Dockerfile's last stage", () => {
      const images = Object.keys(APP_SERVICES).map((name) => [service(name).image, service(name).build]);
      expect(new Set(images.map(([image]) => image)).size).toBe(1);
      for (const [, build] of images) {
        expect(build).toEqual({ context: '.', dockerfile: 'infra/Dockerfile', target: runtime.name });
      }
    });

    it('each run the command of their npm script, on a file the image contains', () => {
      const copied = copiedRepoPaths(runtime);
      for (const [name, script] of Object.entries(APP_SERVICES)) {
        const { argv, assignments } = scriptArgv(pkg.scripts[script] ?? '');
        expect(commandOf(service(name)), name).toEqual(argv);
        expect(imageEnvironment, `${name}: the image sets what \`npm run ${script}\` sets`).toMatchObject(assignments);
        const entry = argv.at(-1) ?? '';
        const inImage = copied.some((copy) => entry === copy || entry.startsWith(`${copy}/`));
        expect(inImage, `${name}: ${entry} in the image`).toBe(true);
        // Every entry is build output: npm run build must keep producing it.
        expect(isBuildOutput(entry), `${name}: npm run build writes ${entry}`).toBe(true);
      }
      const cmd = runtime.instructions.findLast(({ keyword }) => keyword === 'CMD');
      expect(JSON.parse(cmd?.args ?? '[]'), "the image's default command is the web").toEqual(commandOf(service('web')));
    });

    it('give the web the larger share of a busy CPU than the workers and the mocks, and cap no one', () => {
      const web = service('web').cpu_shares ?? 1024;
      for (const name of ['workers', 'mocks']) {
        expect(service(name).cpu_shares, `${name} cpu_shares`).toBeDefined();
        expect(service(name).cpu_shares ?? 1024, `${name} against the web`).toBeLessThan(web / 4);
      }
      for (const name of Object.keys(APP_SERVICES)) {
        const keys = Object.keys(service(name));
        expect(keys.filter((key) => ['cpus', 'cpu_quota', 'cpu_period'].includes(key)), `${name}: no CPU cap`).toEqual([]);
      }
    });

    it('set only environment variables the app reads', () => {
      const known = new Set([...configKeys(), ...NEXT_VARIABLES]);
      expect(known).toContain('DATABASE_URL');
      for (const name of Object.keys(APP_SERVICES)) {
        const unknown = Object.keys(containerEnvironment(name)).filter((key) => !known.has(key));
        expect(unknown, name).toEqual([]);
      }
    });

    it('are configured, as lib/config.ts reads it, to reach each other by their compose names', async () => {
      const hostOf = (url: string) => new URL(url).hostname;
      const environment = await withSecrets(services);
      const web = loadConfig(environment('web'));
      const workers = loadConfig(environment('workers'));
      const mocks = loadConfig(environment('mocks'));
      const migrate = loadConfig(environment('migrate'));
      for (const settings of [web, workers, migrate]) expect(hostOf(settings.databaseUrl)).toBe('postgres');
      for (const settings of [web, workers]) {
        expect(settings.nodeEnv).toBe('production');
        expect(hostOf(settings.valkey.url)).toBe('valkey');
        for (const provider of ['crm', 'storage', 'analytics'] as const) {
          expect(settings.providers[provider].url).toBe(`http://mocks:${mocks.mocks.httpPort}/${provider}`);
        }
        expect(settings.providers.smtp).toMatchObject({ host: 'mocks', port: mocks.mocks.smtpPort, secure: false });
        expect(settings.appUrl).toBe('http://localhost:3000');
        expect(settings.metrics.token).toBe(dotEnv.METRICS_TOKEN);
      }
      expect(workers.alerts.webhookUrl).toBe(`http://mocks:${mocks.mocks.httpPort}/alerts`);
      // Production refuses to start without them (instrumentation.ts); .env's values win.
      expect(web.admin.password).toBe(dotEnv.ADMIN_PASSWORD);
      expect(web.admin.sessionSecret).toBe(dotEnv.SESSION_SECRET);
      expect(containerEnvironment('web').HOSTNAME).toBe('0.0.0.0');
      expect(containerPorts('web')).toEqual([web.port]);
      expect(healthcheckPort('web')).toBe(web.port);
      expect(containerPorts('mocks').sort()).toEqual([mocks.mocks.httpPort, mocks.mocks.smtpPort].sort());
      expect(healthcheckPort('mocks')).toBe(mocks.mocks.httpPort);
      expect(service('workers').expose).toEqual([String(workers.metrics.workerPort)]);
      expect(healthcheckPort('workers')).toBe(workers.metrics.workerPort);
    });

    it('checks a worker’s health on a route its real metrics server answers without the token', async () => {
      const [cmd, node, flag, script = ''] = [service('workers').healthcheck?.test ?? []].flat();
      expect([cmd, node, flag]).toEqual(['CMD', 'node', '-e']);
      const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
      const server = await startMetricsServer({ port: 0, token: dotEnv.METRICS_TOKEN, metrics: createMetrics(), log: quiet });
      if (!server) throw new Error('the worker metrics server did not start');
      const local = script.replace(`127.0.0.1:${healthcheckPort('workers')}/`, `127.0.0.1:${server.port}/`);
      expect(local).not.toBe(script);
      // Run as Docker runs it, but with no METRICS_TOKEN to send: the check must not need one.
      const environment = { ...process.env };
      delete environment.METRICS_TOKEN;
      const check = () =>
        promisify(execFile)(process.execPath, ['-e', local], { env: environment, timeout: 10_000 }).then(
          () => 0,
          (error: { code?: number }) => error.code ?? -1,
        );
      try {
        expect(await check()).toBe(0);
      } finally {
        await server.close();
      }
      expect(await check(), 'with the server gone').not.toBe(0);
    });

    it('bind the mocks to the compose network behind the MOCKS_TOKEN the web sends, and publish ports on 127.0.0.1 only', async () => {
      const environment = await withSecrets(services);
      const mocks = loadConfig(environment('mocks')).mocks;
      // Loopback inside a container would hide the mocks from the workers and the web.
      expect(isLoopback(mocks.bind)).toBe(false);
      expect(mocks.token).toBe(dotEnv.MOCKS_TOKEN);
      expect(exposureProblem(mocks.bind, mocks.token)).toBeUndefined();
      expect(exposureProblem(mocks.bind, undefined), 'the same bind without the token').toMatch(/set MOCKS_TOKEN/);
      expect(loadConfig(environment('web')).mocks.token, 'the fault panel sends the same token').toBe(mocks.token);
      for (const [name, entry] of Object.entries(services)) {
        for (const port of entry.ports ?? []) expect(port, `${name} publishes`).toMatch(/^127\.0\.0\.1:/);
      }
    });

    it('publish no port on workers and name no container, so `--scale workers=N` works', () => {
      expect(service('workers').ports).toBeUndefined();
      expect(Object.values(services).some((entry) => 'container_name' in entry)).toBe(false);
    });
  });

  describe('start order', () => {
    it('starts web and workers after the secrets and migrate have completed and their stores and the mocks are healthy', () => {
      const expected = {
        secrets: 'service_completed_successfully',
        migrate: 'service_completed_successfully',
        mocks: 'service_healthy',
        postgres: 'service_healthy',
        valkey: 'service_healthy',
      };
      for (const name of ['web', 'workers']) {
        const conditions = Object.fromEntries(dependencies(name).map(([on, { condition }]) => [on, condition]));
        expect(conditions, name).toEqual(expected);
      }
      expect(dependencies('migrate')).toEqual([['postgres', { condition: 'service_healthy' }]]);
    });

    it('waits for health on every dependency that has a healthcheck, and only on those', () => {
      for (const name of Object.keys(services)) {
        for (const [on, { condition }] of dependencies(name)) {
          const oneShot = service(on).restart === 'no';
          const wanted = oneShot ? 'service_completed_successfully' : hasHealthcheck(on) ? 'service_healthy' : undefined;
          expect(wanted, `${name} depends on ${on}, which has no healthcheck`).toBeDefined();
          expect(condition, `${name} -> ${on}`).toBe(wanted);
        }
      }
      for (const oneShot of ['migrate', 'secrets']) expect(service(oneShot).healthcheck?.disable, oneShot).toBe(true);
    });
  });

  describe('Valkey and PostgreSQL', () => {
    it('run Valkey 8 with an append-only file synced every second, refusing writes rather than evicting', () => {
      expect(service('valkey').image).toMatch(/^valkey\/valkey:8(\.|$)/);
      expect(commandOf(service('valkey')).join(' ')).toContain(
        '--appendonly yes --appendfsync everysec --maxmemory-policy noeviction',
      );
      expect(service('valkey').volumes).toEqual(['valkey-data:/data']);
    });

    it('run PostgreSQL 17 on a named volume', () => {
      expect(service('postgres').image).toMatch(/^postgres:17(\.|-|$)/);
      expect(service('postgres').volumes).toEqual(['postgres-data:/var/lib/postgresql/data']);
      expect(Object.keys(compose.volumes ?? {})).toContain('postgres-data');
    });
  });

  describe('the observability profile', () => {
    const prometheusConfig = parse(readRepoFile('infra/prometheus/prometheus.yml')) as {
      rule_files: string[];
      scrape_configs: Array<{
        job_name: string;
        authorization?: { credentials_file?: string };
        static_configs?: Array<{ targets: string[] }>;
        dns_sd_configs?: Array<{ names: string[]; port: number }>;
      }>;
    };
    const mounts = (name: string) =>
      (service(name).volumes ?? []).filter((volume) => volume.startsWith('./')).map((volume) => volume.split(':'));

    it('holds Prometheus and Grafana, and only them', () => {
      const profiled = Object.entries(services)
        .filter(([, entry]) => entry.profiles)
        .map(([name, entry]) => [name, entry.profiles]);
      expect(profiled).toEqual([['prometheus', ['observability']], ['grafana', ['observability']]]);
    });

    it('mounts only files and folders the repo has', () => {
      for (const name of Object.keys(services)) {
        for (const [source = ''] of mounts(name)) {
          expect(existsSync(new URL(`../../${source}`, import.meta.url)), `${name} mounts ${source}`).toBe(true);
        }
      }
    });

    it('gives Prometheus its rules and the token file prometheus.yml reads, and scrapes services that exist', async () => {
      const environment = await withSecrets(services);
      const targets = new Map(mounts('prometheus').map(([source, target]) => [target, source]));
      expect(targets.get('/etc/prometheus/prometheus.yml')).toBe('./infra/prometheus/prometheus.yml');
      for (const rules of prometheusConfig.rule_files) {
        expect(targets.get(rules), rules).toBe(`./infra/prometheus/${path.basename(rules)}`);
      }

      expect(service('prometheus').volumes).toContain(`signup-secrets:${SECRETS_MOUNT}:ro`);
      for (const scrape of prometheusConfig.scrape_configs) {
        // The token Prometheus sends is read from the file the app processes read theirs from.
        expect(scrape.authorization?.credentials_file, scrape.job_name).toBe(containerEnvironment('web').METRICS_TOKEN_FILE);
        expect(scrape.authorization?.credentials_file, scrape.job_name).toBe(containerEnvironment('workers').METRICS_TOKEN_FILE);
      }
      const web = prometheusConfig.scrape_configs.find((scrape) => scrape.job_name === 'web');
      expect(web?.static_configs?.[0]?.targets).toEqual([`web:${loadConfig(environment('web')).port}`]);
      const workers = prometheusConfig.scrape_configs.find((scrape) => scrape.job_name === 'workers');
      expect(workers?.dns_sd_configs?.[0]).toMatchObject({
        names: ['workers'],
        port: loadConfig(environment('workers')).metrics.workerPort,
      });
    });

    it('provisions Grafana from infra/grafana at the paths its provisioning files name', () => {
      const targets = new Map(mounts('grafana').map(([source, target]) => [source, target]));
      expect(targets.get('./infra/grafana/provisioning')).toBe('/etc/grafana/provisioning');
      const providers = parse(readRepoFile('infra/grafana/provisioning/dashboards/dashboards.yml')) as {
        providers: Array<{ options: { path: string } }>;
      };
      expect(targets.get('./infra/grafana/dashboards')).toBe(providers.providers[0]?.options.path);
      const datasources = parse(readRepoFile('infra/grafana/provisioning/datasources/prometheus.yml')) as {
        datasources: Array<{ url: string }>;
      };
      expect(datasources.datasources[0]?.url).toBe(`http://prometheus:${containerPorts('prometheus')[0]}`);
    });
  });
});
