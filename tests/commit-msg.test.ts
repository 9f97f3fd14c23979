// .githooks/commit-msg, run on messages written to break each rule and on messages it must let
// through, under bash and under sh (git runs it by its #!/bin/sh line, dash on Debian). Also
// package.json's prepare script, which turns the hook on at `npm ci` and must not fail an install
// without git (the image's `npm ci` has none). docs/contributing.md states the rule.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const HOOK = fileURLToPath(new URL('../.githooks/commit-msg', import.meta.url));
const PACKAGE_JSON = fileURLToPath(new URL('../package.json', import.meta.url));
const SCISSORS = '# ------------------------ >8 ------------------------';
const BODY = '\n\nThe reason for the change, in a sentence.\n';

const scratch = mkdtempSync(path.join(tmpdir(), 'commit-msg-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let files = 0;
function runHook(shell: string, message: string) {
  const file = path.join(scratch, `message-${++files}`);
  writeFileSync(file, message);
  const result = spawnSync(shell, [HOOK, file], { encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, file };
}

// [what, message, the problems it must name (none: accepted)]
const CASES: Array<[what: string, message: string, problems: RegExp[]]> = [
  ['a subject of 72 characters', `Add ${'x'.repeat(68)}${BODY}`, []],
  ['a subject of 73 characters', `Add ${'x'.repeat(69)}${BODY}`, [/73 characters long; keep it to 72/]],
  ['72 characters counted as characters, not UTF-8 bytes', `Add ${'é'.repeat(68)}${BODY}`, []],
  ['a subject ending with a period', `Add the charts.${BODY}`, [/ends with a period/]],
  ['a subject in lower case', `add the charts${BODY}`, [/capital letter/]],
  ['"Added"', `Added the charts${BODY}`, [/starts with 'Added'; use the imperative/]],
  ['"Fixing"', `Fixing the form${BODY}`, [/starts with 'Fixing'; use the imperative/]],
  ['"Fixed:"', `Fixed: the form${BODY}`, [/starts with 'Fixed'; use the imperative/]],
  ['"Adds"', `Adds the charts${BODY}`, [/use the imperative: 'Add', not 'Adds'/]],
  ['"Fixes"', `Fixes the form${BODY}`, [/use the imperative: 'Fix', not 'Fixes'/]],
  ['"Applies"', `Applies the limit${BODY}`, [/use the imperative: 'Apply', not 'Applies'/]],
  ['"Embed", imperative though it ends in ed', `Embed the charts${BODY}`, []],
  ['"Re-embed"', `Re-embed the charts${BODY}`, []],
  ['"Seed"', `Seed the demo workspace${BODY}`, []],
  ['"Bring", imperative though it ends in ing', `Bring back the retry${BODY}`, []],
  ['"Focus", imperative though it ends in s', `Focus the form${BODY}`, []],
  ['"Process"', `Process the queue in order${BODY}`, []],
  ['no body', 'Add the charts\n', [/no body/]],
  ['a body of blank lines and comments only', 'Add the charts\n\n  \n# A comment.\n', [/no body/]],
  ['no blank second line', 'Add the charts\nThe reason.\n', [/second line is not blank/]],
  ['an empty message', '\n# Please enter the commit message.\n', [/subject \(first line\) is empty/, /no body/]],
  [
    'every problem at once',
    'Added the charts.\nthe reason\n',
    [/ends with a period/, /starts with 'Added'/, /second line is not blank/],
  ],
  // What git skips: merges, reverts and commits that autosquash folds into another.
  ['a merge', "Merge branch 'wt-hook'\n", []],
  ['a fixup!', 'fixup! Added the charts.\n', []],
  ['a squash!', 'squash! Added the charts.\n', []],
  ['an amend!', 'amend! Added the charts.\n\nAdd the charts\n', []],
  ['a revert', 'Revert "Added the charts."\n\nThis reverts commit 4807445.\n', []],
  // What git strips: comment lines, surrounding blank lines and trailing whitespace.
  [
    'comment lines',
    '\n# Please enter the commit message for your changes. Lines starting with "#" are ignored.\nAdd the charts  \n# between\n\nThe reason.\n# On branch wt-hook\n',
    [],
  ],
  [
    'what follows the scissors line',
    `Add the charts${BODY}${SCISSORS}\n# Do not modify or remove the line above.\ndiff --git a/x b/x\nAdded the charts.\n`,
    [],
  ],
  ['a body only below the scissors line', `Add the charts\n${SCISSORS}\n\nThe reason.\n`, [/no body/]],
  ['CRLF line ends', 'Add the charts\r\n\r\nThe reason.\r\n', []],
];

describe.each(['bash', 'sh'])('.githooks/commit-msg under %s', (shell) => {
  it.each(CASES)('%s', (_what, message, problems) => {
    const { status, stdout, stderr, file } = runHook(shell, message);
    expect(stdout).toBe('');
    if (problems.length === 0) {
      expect({ status, stderr }).toEqual({ status: 0, stderr: '' });
      return;
    }
    expect(status, stderr).toBe(1);
    const lines = stderr.trimEnd().split('\n');
    // One line per problem, then the rule and where the message was saved.
    expect(lines).toHaveLength(problems.length + 2);
    problems.forEach((problem, index) => expect(lines[index]).toMatch(problem));
    expect(lines.at(-2)).toMatch(/imperative subject of at most 72 characters, a blank line, then why/);
    expect(lines.at(-1)).toContain(file);
    for (const line of lines) expect(line).toMatch(/^commit-msg: /);
  });
});

describe('.githooks/commit-msg', () => {
  it('is an executable sh script that needs no node', () => {
    expect(statSync(HOOK).mode & 0o111).toBe(0o111);
    const source = readFileSync(HOOK, 'utf8');
    expect(source.split('\n')[0]).toBe('#!/bin/sh');
    const code = source.split('\n').filter((line) => !/^\s*#/.test(line));
    expect(code.join('\n')).not.toMatch(/\b(node|npx|npm)\b/);
  });

  it('refuses a message file it cannot read', () => {
    const missing = spawnSync('bash', [HOOK, path.join(scratch, 'no-such-file')], { encoding: 'utf8' });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/cannot read the message file/);
  });
});

describe("package.json's prepare script", () => {
  const { scripts } = JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as { scripts: Record<string, string> };
  const prepare = scripts.prepare ?? '';
  // As npm runs it (sh -c), with no GIT_* variables leaking in from a surrounding git command and
  // no repository found above the temporary directory.
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('GIT_')) env[name] = undefined;
  const runPrepare = (cwd: string, extra: Record<string, string> = {}) =>
    spawnSync('/bin/sh', ['-c', prepare], {
      cwd,
      encoding: 'utf8',
      env: { ...env, GIT_CEILING_DIRECTORIES: path.dirname(cwd), ...extra },
    });
  const freshDir = (name: string) => {
    const dir = path.join(scratch, name);
    mkdirSync(dir);
    return dir;
  };

  it('points core.hooksPath at .githooks in a git checkout', () => {
    const repo = freshDir('checkout');
    expect(spawnSync('git', ['init', '--quiet', repo], { env }).status).toBe(0);
    expect(runPrepare(repo).status).toBe(0);
    const hooksPath = spawnSync('git', ['config', '--local', 'core.hooksPath'], { cwd: repo, encoding: 'utf8', env });
    expect(hooksPath.stdout.trim()).toBe('.githooks');
  });

  it('does nothing, quietly, outside a git checkout', () => {
    const dir = freshDir('not-a-checkout');
    const result = runPrepare(dir);
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
  });

  it('does not fail an install where git is missing', () => {
    const dir = freshDir('no-git');
    const emptyBin = freshDir('empty-bin');
    const noGit = { PATH: emptyBin };
    expect(spawnSync('/bin/sh', ['-c', 'command -v git'], { env: { ...env, ...noGit } }).status).not.toBe(0);
    const result = runPrepare(dir, noGit);
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
  });
});
