// `npm run build`'s last step: bundles every process other than the web into dist/, so production
// runs plain JavaScript with `node`, not TypeScript through the tsx loader (the web is Next's own
// standalone build). esbuild, one file per process:
//
//   dist/start-stack.js    npm start
//   dist/workers.js        npm run workers
//   dist/avatar-sandbox.js the avatar renders, forked by the workers (workers/runtime/start-workers.ts)
//   dist/migrate.js        npm run db:migrate, with dist/migrations copied beside it
//   dist/mocks.js          npm run mocks
//   dist/init-secrets.js   docker compose's `secrets` service (scripts/init-secrets.ts)
//
// The app's bundles leave npm packages external: native ones (sharp) cannot be bundled, and
// BullMQ, pg and OpenTelemetry's instrumentations find their own files or hook module loading at
// run time. Like Next's standalone output, dist/ then gets a node_modules of its own holding only
// the files those bundles load, found by tracing them (@vercel/nft), so the runtime image needs
// neither `npm prune` nor the repo's node_modules, and nothing a bundle does not load (the Prisma
// CLI, TypeScript, tsx, Next's compiler) can reach it. The mock providers bundle their packages
// (smtp-server, mailparser), which therefore are development dependencies.
import { copyFile, cp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeFileTrace } from '@vercel/nft';
import { build, type BuildOptions, type Metafile } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = `${root}dist`;

const common: BuildOptions = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  // The tsconfig's `@/` paths resolve from here.
  tsconfig: 'tsconfig.json',
  sourcemap: 'linked',
  // Packages written as CommonJS still call require() for Node's built-ins inside an ES module.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  logLevel: 'warning',
};

/** The processes the app runs in production, their packages left to node_modules. */
export const APP_BUNDLES = {
  'start-stack': 'scripts/start-stack.ts',
  workers: 'workers/main.ts',
  'avatar-sandbox': 'workers/jobs/avatar/generate-avatar.sandbox.ts',
  migrate: 'prisma/db-migrate.ts',
  'init-secrets': 'scripts/init-secrets.ts',
} as const;
/** The mock providers, self-contained. */
export const SELF_CONTAINED_BUNDLES = { mocks: 'infra/mock-providers/main.ts' } as const;

/**
 * Packages copied whole: BullMQ forks its sandbox's entry by a path it computes at run time
 * (dist/esm/classes/main.js), which no trace follows.
 */
const WHOLE_PACKAGES = ['bullmq'];

/**
 * Writes every bundle into `outdir`, with dist/migrations, a package.json that makes its .js files
 * ES modules, and (unless `trace` is false) the node_modules the app's bundles load. Returns
 * esbuild's metafiles (what each bundle imports) and the node_modules files copied.
 */
export async function bundleProcesses(
  outdir: string,
  { trace = true }: { trace?: boolean } = {},
): Promise<{ app: Metafile; selfContained: Metafile; modules: string[] }> {
  await rm(outdir, { recursive: true, force: true });
  const app = await build({ ...common, entryPoints: APP_BUNDLES, outdir, packages: 'external', metafile: true });
  const selfContained = await build({ ...common, entryPoints: SELF_CONTAINED_BUNDLES, outdir, metafile: true });
  await cp(`${root}prisma/migrations`, `${outdir}/migrations`, { recursive: true });
  await writeFile(`${outdir}/package.json`, `${JSON.stringify({ type: 'module', private: true })}\n`);
  const modules = trace ? await copyTracedModules(outdir) : [];
  return { app: app.metafile, selfContained: selfContained.metafile, modules };
}

/**
 * Copies into `outdir`/node_modules the repo's node_modules files that the app's bundles load. The
 * bundles resolve packages upwards from `outdir`, so it must lie inside the repo.
 */
async function copyTracedModules(outdir: string): Promise<string[]> {
  const entries = Object.keys(APP_BUNDLES).map((name) => path.join(outdir, `${name}.js`));
  const { fileList } = await nodeFileTrace(entries, { base: root });
  const whole = await Promise.all(WHOLE_PACKAGES.map((name) => filesUnder(`node_modules/${name}`)));
  const own = `${path.relative(root, outdir)}/`;
  const files = [...new Set([...fileList, ...whole.flat()])]
    .filter((file) => file.startsWith('node_modules/') && !file.startsWith(own))
    .sort();
  for (const file of files) {
    await mkdir(path.dirname(path.join(outdir, file)), { recursive: true });
    await copyFile(path.join(root, file), path.join(outdir, file));
  }
  return files;
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(path.join(root, dir), { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { modules } = await bundleProcesses(out);
  const bundles = [...Object.keys(APP_BUNDLES), ...Object.keys(SELF_CONTAINED_BUNDLES)].map((name) => `${name}.js`);
  console.log(`bundled into dist/: ${bundles.join(', ')}, and the ${modules.length} node_modules files they load`);
}
