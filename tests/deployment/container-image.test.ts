// infra/Dockerfile, read without a Docker engine: its stages, a runtime stage that runs as a
// non-root user with a healthcheck, and, for the processes that run from source in it (workers,
// mocks, migrate), every package and local file they import present in the image.
import { builtinModules } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  copiedRepoPaths,
  importSpecifiers,
  dockerfileStages,
  packageJson,
  readRepoFile,
  typescriptFiles,
} from './support/container-files';

const pkg = packageJson();
const { stages, runtime } = dockerfileStages();

describe('infra/Dockerfile', () => {
  it('builds in stages: dependencies, build, production dependencies, runtime, copying only from earlier ones', () => {
    expect(stages.map((stage) => stage.name)).toEqual(['deps', 'build', 'prod-deps', 'runtime']);
    const bases = stages.map((stage) => stage.from).filter((from) => !stages.some((stage) => stage.name === from));
    expect(new Set(bases)).toEqual(new Set(['node:20-bookworm-slim']));
    for (const [index, stage] of stages.entries()) {
      const sources = stage.instructions.flatMap(({ args }) => /--from=(\S+)/.exec(args)?.[1] ?? []);
      const earlier = stages.slice(0, index).map((earlierStage) => earlierStage.name);
      for (const source of sources) expect(earlier, `${stage.name} copies from ${source}`).toContain(source);
    }
    const build = stages.find((stage) => stage.name === 'build');
    expect(build?.instructions).toContainEqual({ keyword: 'RUN', args: 'npm run build' });
    expect(pkg.scripts.postbuild).toBe('tsx scripts/copy-standalone-assets.ts && tsx scripts/check-client-bundle.ts');
  });

  it('runs the runtime stage as a non-root user, with a healthcheck', () => {
    const user = runtime.instructions.findLast(({ keyword }) => keyword === 'USER')?.args;
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user?.split(':')[0]);
    const healthcheck = runtime.instructions.find(({ keyword }) => keyword === 'HEALTHCHECK')?.args ?? '';
    expect(healthcheck).toMatch(/ CMD \[/);
    expect(healthcheck).toContain('/api/health');
  });

  it('gives the processes that run from source every package and file they import', () => {
    const copied = copiedRepoPaths(runtime);
    const removed = stages
      .flatMap((stage) => stage.instructions)
      .filter(({ keyword, args }) => keyword === 'RUN' && /\brm\b/.test(args))
      .flatMap(({ args }) => [...args.matchAll(/node_modules\/(@?[\w.-]+)/g)].map(([, name = '']) => name));
    expect(removed).toContain('next');
    // The folders of source the image copies (.next/standalone is build output, node_modules packages).
    const sourceDirs = copied.filter((entry) => !entry.includes('.') && entry !== 'node_modules');
    const sources = sourceDirs.flatMap((dir) => typescriptFiles(dir));
    expect(sources).toContain('workers/main.ts');
    const problems: string[] = [];
    for (const file of sources) {
      for (const specifier of importSpecifiers(readRepoFile(file))) {
        const local = specifier.startsWith('@/')
          ? specifier.slice(2)
          : specifier.startsWith('.')
            ? path.join(path.dirname(file), specifier)
            : undefined;
        if (local !== undefined) {
          const inImage = copied.some((copy) => local === copy || local.startsWith(`${copy}/`));
          if (!inImage) problems.push(`${file}: ${specifier} is not in the image`);
          continue;
        }
        if (specifier.startsWith('node:') || builtinModules.includes(specifier)) continue;
        const name = specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');
        if (!(name in pkg.dependencies)) problems.push(`${file}: ${name} is not a production dependency`);
        if (removed.some((gone) => name === gone || name.startsWith(`${gone}/`))) {
          problems.push(`${file}: ${name} is removed from the image`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
});
