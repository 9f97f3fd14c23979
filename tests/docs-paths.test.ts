// Every path the docs and the code comments send a reader to must exist: Markdown links and images
// (relative to their file, with their #anchors), repo paths like `lib/outbox.ts` or `workers/jobs/`
// in the Markdown, and the same repo paths in comments. A file that moves without its mentions fails
// here, with every stale mention listed as file:line. Also, nothing may name the team's private
// notes, which readers of the project do not have.
//
// Only mentions that resolve unambiguously are checked: a repo path starts with a top-level folder
// (or is a root config file such as package.json), while a bare `process-job.ts` could mean any
// folder. Placeholders (`workers/<queue>/`, `bench/results/*.svg`, `email-0…email-n`) are patterns,
// not paths, and are skipped.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');

/** Folders whose contents are generated or installed, not written: never scanned, never required. */
const GENERATED = /^(node_modules|\.next|\.git|lib\/generated|test-results|playwright-report)(\/|$)|^bench\/results\/.*\.json$/;

/** The repository's files: tracked, plus new ones not yet committed (but not git-ignored ones). */
const FILES = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' })
  .split('\n')
  .filter((file) => file !== '' && !GENERATED.test(file) && existsSync(path.join(ROOT, file)))
  .sort();

const EXISTING = new Set(FILES.flatMap((file) => file.split('/').map((_, index, parts) => parts.slice(0, index + 1).join('/'))));

const TOP_FOLDERS = ['app', 'lib', 'workers', 'infra', 'bench', 'tests', 'e2e', 'prisma', 'scripts', 'docs', '.ci', '.githooks'];
/** Root files named without a folder, which can only mean the repository's root. */
const ROOT_FILE_SOURCE = String.raw`[\w-]+(?:\.[\w-]+)*\.config\.(?:ts|mjs|js|cjs)|docker-compose(?:\.[\w-]+)?\.ya?ml|package(?:-lock)?\.json|tsconfig(?:\.[\w-]+)?\.json`;
const ROOT_FILE = new RegExp(`^(?:${ROOT_FILE_SOURCE})$`);
/** A mention that names a pattern or an example rather than one file. */
const PLACEHOLDER = /[<>*{}…$]|\.\.\.(?!\w+\]\])/;

// A candidate repo path: a top-level folder and a slash, or a root config file, not preceded by
// anything that would make it part of a longer path, URL or import specifier (`@/lib/x`, `../lib/x`).
const PATH_CHARS = String.raw`[\w.\-/\[\]()@+<>*{}…$]`;
const REPO_PATH = new RegExp(
  String.raw`(?<![\w./@:~-])(?:(?:${TOP_FOLDERS.map((folder) => folder.replace('.', '\\.')).join('|')})/${PATH_CHARS}*|(?:${ROOT_FILE_SOURCE})(?![\w-]))`,
  'g',
);

/** Module specifiers are written without their extension: `lib/config` is lib/config.ts. */
const MODULE_EXTENSIONS = ['', '.ts', '.tsx', '.mjs', '.js'];

function repoPathExists(mention: string): boolean {
  const clean = mention.replace(/\/+$/, '');
  return GENERATED.test(clean) || MODULE_EXTENSIONS.some((extension) => EXISTING.has(clean + extension)) || gitIgnored(clean) || gitIgnored(`${clean}/`);
}

/** A path the repository ignores (`bench/.work/`, `.env`) is made at run time, not committed. */
function gitIgnored(file: string): boolean {
  try {
    execFileSync('git', ['check-ignore', '--quiet', '--no-index', file], { cwd: ROOT });
    return true;
  } catch {
    return false;
  }
}

/** Trailing punctuation that ends the sentence around a path, and unbalanced closing brackets. */
function trimMention(raw: string): string {
  // A Markdown link written as its own path, [lib/outbox.ts](lib/outbox.ts): the text alone.
  let mention = raw.split('](')[0] ?? raw;
  for (;;) {
    const before = mention;
    mention = mention.replace(/[.,:;!?'"`]+$/, '');
    for (const [open, close] of [['(', ')'], ['[', ']']] as const) {
      if (mention.endsWith(close) && mention.split(close).length > mention.split(open).length) mention = mention.slice(0, -1);
    }
    if (mention === before) return mention;
  }
}

/** The repo paths a piece of text mentions, each with its line (1-based, counted from `firstLine`). */
function repoPathMentions(text: string, firstLine = 1): Array<{ line: number; mention: string }> {
  const found: Array<{ line: number; mention: string }> = [];
  text.split('\n').forEach((lineText, index) => {
    for (const match of lineText.matchAll(REPO_PATH)) {
      const mention = trimMention(match[0]);
      if (PLACEHOLDER.test(mention)) continue;
      if (!mention.includes('/') && !ROOT_FILE.test(mention)) continue;
      found.push({ line: firstLine + index, mention });
    }
  });
  return found;
}

function read(file: string): string {
  return readFileSync(path.join(ROOT, file), 'utf8');
}

function report(offenders: string[]): string {
  return `${offenders.length} offender(s):\n  ${offenders.join('\n  ')}`;
}

// --- Markdown ------------------------------------------------------------------------------------

/** The project's prose; the benchmark reports are generated records of a run and stay as written. */
const MARKDOWN = FILES.filter((file) => file.endsWith('.md') && !file.startsWith('bench/results/'));

/** The text with fenced code blocks and code spans (within a paragraph) blanked, lines kept. */
function withoutCode(markdown: string): string {
  const blank = (block: string) => block.replace(/[^\n]/g, ' ');
  return markdown.replace(/^(`{3,}|~{3,})[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, blank).replace(/(`+)(?!`)(?:[^\n]|\n(?![ \t]*\n))*?(?<!`)\1(?!`)/g, blank);
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const counts = new Map<string, number>();
  const prose = markdown.replace(/^(`{3,}|~{3,})[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
  for (const [, heading = ''] of prose.matchAll(/^#{1,6}[ \t]+(.+?)[ \t#]*$/gm)) {
    const text = heading.replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1');
    const slug = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const seen = counts.get(slug) ?? 0;
    counts.set(slug, seen + 1);
    anchors.add(seen === 0 ? slug : `${slug}-${seen}`);
  }
  return anchors;
}

interface Link {
  line: number;
  target: string;
}

function markdownLinks(markdown: string): Link[] {
  const links: Link[] = [];
  withoutCode(markdown)
    .split('\n')
    .forEach((text, index) => {
      const targets = [
        ...[...text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((match) => match[1]),
        ...[...text.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/g)].map((match) => match[1]),
        ...[...text.matchAll(/\b(?:src|href)="([^"]+)"/g)].map((match) => match[1]),
      ];
      for (const target of targets) if (target) links.push({ line: index + 1, target });
    });
  return links;
}

function brokenLink(file: string, target: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return undefined; // http:, https:, mailto:
  const [pathPart = '', anchor] = target.split('#', 2);
  const decoded = decodeURIComponent(pathPart.split('?')[0] ?? '');
  const resolved = decoded === '' ? file : path.posix.normalize(path.posix.join(path.posix.dirname(file), decoded));
  if (resolved.startsWith('../') || !(EXISTING.has(resolved.replace(/\/+$/, '')) || resolved === '.')) {
    return `${target} (no ${resolved})`;
  }
  if (anchor && resolved.endsWith('.md') && !headingAnchors(read(resolved)).has(anchor.toLowerCase())) {
    return `${target} (no heading #${anchor} in ${resolved})`;
  }
  return undefined;
}

// --- Comments in code ----------------------------------------------------------------------------

interface Comment {
  line: number;
  text: string;
}

/** Characters after which a `/` starts a regular expression rather than a division. */
const REGEX_CAN_FOLLOW = new Set(['', '(', ',', '=', ':', '[', '!', '&', '|', '?', '{', '}', ';', '+', '-', '*', '%', '~', '^']);

/**
 * The comments of a JavaScript or TypeScript source, found by a small lexer that steps over
 * strings, template literals (and the code inside their `${}`) and regular expression literals,
 * so `'http://x'` or `/\/\//` is never taken for a comment.
 */
function scriptComments(source: string): Comment[] {
  const comments: Comment[] = [];
  const templateBraces: number[] = [];
  let line = 1;
  let previous = '';
  let index = 0;
  const advance = (to: number) => {
    for (let at = index; at < to && at < source.length; at += 1) if (source[at] === '\n') line += 1;
    index = to;
  };
  const skipString = (quote: string) => {
    let at = index + 1;
    while (at < source.length && source[at] !== quote && source[at] !== '\n') at += source[at] === '\\' ? 2 : 1;
    advance(at + 1);
  };
  // Inside a template literal: up to its end, or into the code of a `${`.
  const skipTemplate = () => {
    let at = index;
    while (at < source.length && source[at] !== '`' && !(source[at] === '$' && source[at + 1] === '{')) at += source[at] === '\\' ? 2 : 1;
    if (source[at] === '`') {
      advance(at + 1);
    } else {
      templateBraces.push(0);
      advance(at + 2);
    }
  };

  while (index < source.length) {
    const char = source[index] ?? '';
    const next = source[index + 1] ?? '';
    if (char === '/' && next === '/') {
      const end = source.indexOf('\n', index);
      const stop = end === -1 ? source.length : end;
      comments.push({ line, text: source.slice(index + 2, stop) });
      advance(stop);
    } else if (char === '/' && next === '*') {
      const end = source.indexOf('*/', index + 2);
      const stop = end === -1 ? source.length : end + 2;
      comments.push({ line, text: source.slice(index + 2, stop - 2) });
      advance(stop);
    } else if (char === '/' && (REGEX_CAN_FOLLOW.has(previous) || /\b(return|typeof|case|in|of)$/.test(source.slice(Math.max(0, index - 8), index).trimEnd()))) {
      let at = index + 1;
      let inClass = false;
      while (at < source.length && source[at] !== '\n' && (inClass || source[at] !== '/')) {
        if (source[at] === '\\') at += 1;
        else if (source[at] === '[') inClass = true;
        else if (source[at] === ']') inClass = false;
        at += 1;
      }
      advance(at + 1);
      previous = 'x';
    } else if (char === '"' || char === "'") {
      skipString(char);
      previous = 'x';
    } else if (char === '`') {
      advance(index + 1);
      skipTemplate();
      previous = 'x';
    } else if (char === '}' && templateBraces.length > 0 && templateBraces.at(-1) === 0) {
      templateBraces.pop();
      advance(index + 1);
      skipTemplate();
      previous = 'x';
    } else {
      if (templateBraces.length > 0 && (char === '{' || char === '}')) {
        templateBraces[templateBraces.length - 1] = (templateBraces.at(-1) ?? 0) + (char === '{' ? 1 : -1);
      }
      if (!/\s/.test(char)) previous = /[\w$)\]]/.test(char) ? 'x' : char;
      advance(index + 1);
    }
  }
  return comments;
}

/** Comments that run from a marker to the end of the line, outside quotes (`#` in YAML and shell). */
function lineComments(source: string, marker: string): Comment[] {
  const comments: Comment[] = [];
  source.split('\n').forEach((text, index) => {
    let quote = '';
    for (let at = 0; at < text.length; at += 1) {
      const char = text[at] ?? '';
      if (quote) {
        if (char === '\\') at += 1;
        else if (char === quote) quote = '';
      } else if (char === '"' || char === "'") {
        quote = char;
      } else if (text.startsWith(marker, at) && (at === 0 || /\s/.test(text[at - 1] ?? ''))) {
        comments.push({ line: index + 1, text: text.slice(at + marker.length) });
        return;
      }
    }
  });
  return comments;
}

function commentsOf(file: string): Comment[] | undefined {
  const base = path.posix.basename(file);
  if (/\.(ts|tsx|mts|cts|mjs|cjs|js)$/.test(file) || file.endsWith('.prisma')) return scriptComments(read(file));
  if (/\.ya?ml$/.test(file) || base === 'Dockerfile' || base === '.env.example' || file === '.ci/run' || file.startsWith('.githooks/') || file.endsWith('.sh')) {
    return lineComments(read(file), '#');
  }
  if (file.endsWith('.sql')) return lineComments(read(file), '--');
  return undefined;
}

// --- The private notes ---------------------------------------------------------------------------

// Built from pieces, so this file does not name them either.
const PRIVATE_NOTES = [['CONT', 'RACT'], ['ENVIRON', 'MENT'], ['STY', 'LE']].map((parts) => `${parts.join('')}.md`);
const PRIVATE_FOLDER = ['..', 'shared'].join('/');
const BINARY = /\.(png|jpe?g|gif|ico|svg|woff2?|ttf|pdf|zip|gz)$/;

// --- The checks ----------------------------------------------------------------------------------

describe('paths named in the docs and in code comments', () => {
  // A lexer or pattern that silently finds nothing would pass every check below.
  it('finds what it checks', () => {
    expect(MARKDOWN).toContain('README.md');
    expect(MARKDOWN.flatMap((file) => markdownLinks(read(file))).length).toBeGreaterThan(50);
    const commentMentions = FILES.flatMap((file) => (commentsOf(file) ?? []).flatMap((comment) => repoPathMentions(comment.text)));
    expect(commentMentions.length).toBeGreaterThan(100);
    expect(scriptComments('const url = "http://lib/x.ts"; // lib/y.ts\n/* lib/z.ts */ const re = /\\/\\//;')).toEqual([
      { line: 1, text: ' lib/y.ts' },
      { line: 2, text: ' lib/z.ts ' },
    ]);
  });

  it('resolves every Markdown link and image, anchors included', () => {
    const offenders = MARKDOWN.flatMap((file) =>
      markdownLinks(read(file)).flatMap(({ line, target }) => {
        const problem = brokenLink(file, target);
        return problem ? [`${file}:${line}: ${problem}`] : [];
      }),
    );
    expect(offenders, report(offenders)).toEqual([]);
  });

  it('finds every repo path the Markdown mentions', () => {
    const offenders = MARKDOWN.flatMap((file) =>
      repoPathMentions(read(file))
        .filter(({ mention }) => !repoPathExists(mention))
        .map(({ line, mention }) => `${file}:${line}: ${mention}`),
    );
    expect(offenders, report(offenders)).toEqual([]);
  });

  it('finds every repo path a code comment mentions', () => {
    const offenders = FILES.flatMap((file) =>
      (commentsOf(file) ?? []).flatMap((comment) =>
        repoPathMentions(comment.text, comment.line)
          .filter(({ mention }) => !repoPathExists(mention))
          .map(({ line, mention }) => `${file}:${line}: ${mention}`),
      ),
    );
    expect(offenders, report(offenders)).toEqual([]);
  });

  it('never names notes that readers do not have', () => {
    const names = [...PRIVATE_NOTES, PRIVATE_FOLDER];
    const offenders = FILES.filter((file) => !BINARY.test(file)).flatMap((file) =>
      read(file)
        .split('\n')
        .flatMap((text, index) => names.filter((name) => text.includes(name)).map((name) => `${file}:${index + 1}: ${name}`)),
    );
    expect(offenders, report(offenders)).toEqual([]);
  });
});
