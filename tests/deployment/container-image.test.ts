// infra/Dockerfile, read without a Docker engine: its stages, and a runtime stage that runs as a
// non-root user with a healthcheck and only compiled JavaScript; and the bundles it copies
// (scripts/bundle.ts, built here for real), with the node_modules they carry.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import type { Metafile } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { bundleProcesses } from '@/scripts/bundle';
import { copiedRepoPaths, dockerfileStages, packageJson, readRepoFile } from './support/container-files';

const pkg = packageJson();
const { stages, runtime } = dockerfileStages();

describe('infra/Dockerfile', () => {
  it('builds in stages: dependencies, build, runtime, copying only from earlier ones', () => {
    expect(stages.map((stage) => stage.name)).toEqual(['deps', 'build', 'runtime']);
    const bases = stages.map((stage) => stage.from).filter((from) => !stages.some((stage) => stage.name === from));
    expect(new Set(bases)).toEqual(new Set(['node:20-bookworm-slim']));
    for (const [index, stage] of stages.entries()) {
      const sources = stage.instructions.flatMap(({ args }) => /--from=(\S+)/.exec(args)?.[1] ?? []);
      const earlier = stages.slice(0, index).map((earlierStage) => earlierStage.name);
      for (const source of sources) expect(earlier, `${stage.name} copies from ${source}`).toContain(source);
    }
    const build = stages.find((stage) => stage.name === 'build');
    expect(build?.instructions).toContainEqual({ keyword: 'RUN', args: 'npm run build' });
  });

  it('runs the runtime stage as a non-root user, with a healthcheck', () => {
    const user = runtime.instructions.findLast(({ keyword }) => keyword === 'USER')?.args;
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user?.split(':')[0]);
    const healthcheck = runtime.instructions.find(({ keyword }) => keyword === 'HEALTHCHECK')?.args ?? '';
    expect(healthcheck).toMatch(/ CMD \[/);
    expect(healthcheck).toContain('/api/health');
  });

  it('runs compiled JavaScript only: the bundles and the standalone web, no sources and no build tools', () => {
    const copied = copiedRepoPaths(runtime);
    // lib/circuit-breaker.lua is data, read at run time from the working directory.
    expect(new Set(copied)).toEqual(new Set(['dist', 'lib/circuit-breaker.lua', '.next/standalone']));
    expect(pkg.scripts.postbuild).toContain('tsx scripts/bundle.ts');
    for (const tool of ['tsx', 'prisma', 'esbuild', 'smtp-server', 'mailparser']) {
      expect(Object.keys(pkg.dependencies), `${tool} is a development dependency`).not.toContain(tool);
    }
  });

  it("caps V8's heap of the web and the worker, the same in npm start as in their npm scripts", () => {
    const startStack = readRepoFile('scripts/start-stack.ts');
    for (const script of ['web', 'workers']) {
      const cap = /--max-old-space-size=\d+/.exec(pkg.scripts[script] ?? '')?.[0];
      expect(cap, `npm run ${script} caps the heap`).toBeDefined();
      expect(startStack, `npm start runs ${script} with ${cap}`).toContain(`'${cap}'`);
    }
  });

  it('bundles the processes with only the node_modules they load: production dependencies, no build tools', { timeout: 120_000 }, async () => {
    // Inside the repo, as dist/ is: the bundles find their packages in the repo's node_modules.
    mkdirSync('node_modules/.cache', { recursive: true });
    const outdir = mkdtempSync(path.resolve('node_modules/.cache/bundle-test-'));
    try {
      const { app, selfContained, modules } = await bundleProcesses(outdir);
      const packageOf = (specifier: string) => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');
      const externals = (metafile: Metafile) =>
        new Set(
          Object.values(metafile.outputs)
            .flatMap((output) => output.imports)
            .filter(({ external, path: specifier }) => external && !specifier.startsWith('node:') && !builtinModules.includes(specifier))
            .map(({ path: specifier }) => packageOf(specifier)),
        );
      const imported = externals(app);
      expect(imported, 'the workers leave BullMQ to node_modules').toContain('bullmq');
      expect([...imported].filter((name) => !(name in pkg.dependencies)), 'imported but not production dependencies').toEqual([]);
      expect([...externals(selfContained)], 'the mocks bundle their packages').toEqual([]);

      const carried = new Set(modules.map((file) => packageOf(file.slice('node_modules/'.length))));
      for (const name of imported) expect(carried, `dist/node_modules carries ${name}`).toContain(name);
      for (const tool of ['tsx', 'prisma', '@prisma/client', 'esbuild', 'typescript', 'next', '@next/swc-linux-x64-gnu', 'vitest']) {
        expect(carried, `dist/node_modules leaves out ${tool}`).not.toContain(tool);
      }
      // BullMQ forks its sandbox's entry by a computed path, so the package is copied whole.
      expect(modules).toContain('node_modules/bullmq/dist/esm/classes/main.js');
      expect(existsSync(path.join(outdir, 'package.json')), 'a package.json makes the bundles ES modules').toBe(true);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});
