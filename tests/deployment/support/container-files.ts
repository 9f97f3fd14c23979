// Readers for docker-compose.yml, infra/Dockerfile, .env.example and the sources the image runs,
// for tests/deployment/compose.test.ts: no Docker engine runs here, so the files are read the way Compose and
// BuildKit read them, for the parts the tests check.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export const readRepoFile = (path: string) => readFileSync(new URL(`../../../${path}`, import.meta.url), 'utf8');

export interface ComposeService {
  image?: string;
  build?: { context?: string; dockerfile?: string; target?: string };
  profiles?: string[];
  command?: string[] | string;
  cpu_shares?: number;
  environment?: Record<string, string | number | boolean | null> | string[];
  depends_on?: Record<string, { condition?: string }> | string[];
  healthcheck?: { test?: string[] | string; disable?: boolean };
  ports?: string[];
  expose?: string[];
  volumes?: string[];
  restart?: string;
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

// Compose's interpolation: $$, $NAME, ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error},
// ${NAME?error}, ${NAME:+replacement}, ${NAME+replacement}. A ${...} nested in a default is not
// needed by our file and not resolved here (interpolatedNames still finds its name).
const INTERPOLATION = /\$(?:\$|\{([A-Za-z_]\w*)(?:(:?[-?+])([^}]*))?\}|([A-Za-z_]\w*))/g;

export class InterpolationError extends Error {
  override name = 'InterpolationError';
}

export function interpolate(text: string, variables: Record<string, string | undefined>): string {
  return text.replace(INTERPOLATION, (match, braced?: string, operator?: string, argument = '', bare?: string) => {
    if (match === '$$') return '$';
    const name = braced ?? bare ?? '';
    const value = variables[name];
    const empty = value === undefined || value === '';
    switch (operator) {
      case ':-':
        return empty ? argument : value;
      case '-':
        return value ?? argument;
      case ':?':
      case '?':
        if (operator === ':?' ? empty : value === undefined) throw new InterpolationError(`${name}: ${argument}`);
        return value ?? '';
      case ':+':
        return empty ? '' : argument;
      case '+':
        return value === undefined ? '' : argument;
      default:
        return value ?? '';
    }
  });
}

/** The names of the variables a text interpolates, nested ones included; `$$` escapes. */
export function interpolatedNames(text: string): string[] {
  const names = [...text.replaceAll('$$', '').matchAll(/\$\{?([A-Za-z_]\w*)/g)].map(([, name = '']) => name);
  return [...new Set(names)];
}

/** Interpolates every string in a parsed document, as Compose does after reading the YAML. */
function interpolateDeep(value: unknown, variables: Record<string, string | undefined>): unknown {
  if (typeof value === 'string') return interpolate(value, variables);
  if (Array.isArray(value)) return value.map((item) => interpolateDeep(item, variables));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, interpolateDeep(item, variables)]));
  }
  return value;
}

export function loadCompose(text: string, variables: Record<string, string | undefined>): ComposeFile {
  // `<<` merge keys: the file shares the app services' settings through them.
  return interpolateDeep(parse(text, { merge: true }), variables) as ComposeFile;
}

/** A service's environment as a map, whichever of Compose's two forms it uses. */
export function environmentOf(service: ComposeService): Record<string, string> {
  const environment = service.environment ?? {};
  const entries = Array.isArray(environment)
    ? environment.map((line) => [line.split('=')[0] ?? '', line.split('=').slice(1).join('=')])
    : Object.entries(environment).map(([key, value]) => [key, value === null ? '' : String(value)]);
  return Object.fromEntries(entries);
}

export function commandOf(service: ComposeService): string[] {
  const command = service.command ?? [];
  return Array.isArray(command) ? command : command.split(/\s+/).filter(Boolean);
}

/** KEY=value lines of an env file; comments and blank lines skipped. */
export function parseEnvFile(text: string): Record<string, string> {
  const entries = text
    .split('\n')
    .map((line) => /^([A-Za-z_]\w*)=(.*)$/.exec(line.trim()))
    .filter((match) => match !== null)
    .map(([, key = '', value = '']) => [key, value]);
  return Object.fromEntries(entries);
}

export interface DockerInstruction {
  keyword: string;
  args: string;
}

export interface DockerStage {
  name: string;
  from: string;
  instructions: DockerInstruction[];
}

/** The stages of a Dockerfile, its ARG defaults substituted into FROM, line continuations joined. */
export function parseDockerfile(text: string): DockerStage[] {
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const args: Record<string, string> = {};
  const stages: DockerStage[] = [];
  for (const line of lines) {
    const [keyword = '', ...rest] = line.split(/\s+/);
    const instruction = { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    if (instruction.keyword === 'ARG' && stages.length === 0) {
      const [name = '', value = ''] = instruction.args.split('=');
      args[name] = value;
    } else if (instruction.keyword === 'FROM') {
      const [image = '', , name] = instruction.args.split(/\s+/);
      stages.push({ name: name ?? String(stages.length), from: interpolate(image, args), instructions: [] });
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return stages;
}

/** KEY=value pairs of a stage's ENV instructions. */
export function stageEnvironment(stage: DockerStage): Record<string, string> {
  const pairs = stage.instructions
    .filter(({ keyword }) => keyword === 'ENV')
    .flatMap(({ args }) => [...args.matchAll(/([A-Za-z_]\w*)=(\S+)/g)].map(([, key = '', value = '']) => [key, value]));
  return Object.fromEntries(pairs);
}

/** The repo paths a stage copies from the build stages (`COPY --from=<stage> /app/<path> ...`). */
export function copiedRepoPaths(stage: DockerStage, workdir = '/app'): string[] {
  return stage.instructions
    .filter(({ keyword, args }) => keyword === 'COPY' && args.startsWith('--from='))
    .flatMap(({ args }) => args.split(/\s+/).slice(1, -1))
    .filter((source) => source.startsWith(`${workdir}/`))
    .map((source) => source.slice(workdir.length + 1));
}

/** The keys of lib/config.ts's environment schema, read from its source (the module exports none). */
export function configKeys(): string[] {
  const source = readRepoFile('lib/config.ts');
  const schema = source.slice(source.indexOf('const envSchema'), source.indexOf('.transform((env)'));
  return [...schema.matchAll(/^ {4}([A-Z][A-Z0-9_]*):/gm)].map(([, key = '']) => key);
}

/** An npm script as the image's argv, leading VAR=value set apart. */
export function scriptArgv(script: string): { argv: string[]; assignments: Record<string, string> } {
  const words = script.split(/\s+/);
  const assignments: Record<string, string> = {};
  while (/^[A-Z_]+=/.test(words[0] ?? '')) {
    const [key = '', value = ''] = (words.shift() ?? '').split('=');
    assignments[key] = value;
  }
  return { argv: words, assignments };
}

/** Whether `entry`, a command's last word, is a file `npm run build` writes: Next's standalone server
 * (when next.config.ts keeps producing it) or one of scripts/bundle.ts's bundles. */
export function isBuildOutput(entry: string): boolean {
  if (entry === '.next/standalone/server.js') return /output:\s*'standalone'/.test(readRepoFile('next.config.ts'));
  const bundle = /^dist\/([\w-]+)\.js$/.exec(entry)?.[1];
  return bundle !== undefined && new RegExp(`[\\s{']${bundle}'?: '[^']+\\.ts'`).test(readRepoFile('scripts/bundle.ts'));
}

export interface PackageJson {
  type?: string;
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
}

export function packageJson(): PackageJson {
  return JSON.parse(readRepoFile('package.json')) as PackageJson;
}

/** infra/Dockerfile's stages and its last one, the image that runs. */
export function dockerfileStages() {
  const stages = parseDockerfile(readRepoFile('infra/Dockerfile'));
  const runtime = stages.at(-1);
  if (!runtime) throw new Error('infra/Dockerfile has no stage');
  return { stages, runtime };
}
