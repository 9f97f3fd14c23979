// What of the mock providers' code a production build's browser chunks contain: nothing, or the
// strings that give it away. The mocks are a server (infra/mock-providers/), and the admin's fault
// panel only shares their vocabulary as types; a value import would put their code in every admin
// visitor's download. npm run build runs check-client-bundle.ts, which fails on any leak.
//
// A marker is a message the mocks' own source writes: a string literal of at least three words,
// written nowhere in the app's source. Words, not tokens like 'application/json', so that a
// framework's code in a chunk cannot look like a mock's. If one shows up in a chunk, mock code is
// in the bundle.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const MOCKS_DIR = 'infra/mock-providers';
/** Where a literal also written elsewhere is shared vocabulary, not a mock's own. */
const SHARED_SOURCES = ['app', 'lib', 'workers'];
const MIN_MARKER_WORDS = 3;

function sourceFiles(root: string, dir: string): string[] {
  return readdirSync(path.join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((file) => /\.(ts|tsx)$/.test(file) && !file.endsWith('.test.ts'))
    .map((file) => path.join(root, dir, file));
}

/** The message-like string literals of a source file (template parts included), imports left out. */
function messages(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false);
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) return;
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateHead(node) || ts.isTemplateMiddle(node) || ts.isTemplateTail(node)) {
      const text = node.text.trim();
      if (text.split(/\s+/).filter((word) => /[a-z]{2}/i.test(word)).length >= MIN_MARKER_WORDS) found.push(text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** The mocks' own string literals: in their source, in none of the app's. */
export function mockMarkers(root: string): string[] {
  const shared = SHARED_SOURCES.flatMap((dir) => sourceFiles(root, dir))
    .map((file) => readFileSync(file, 'utf8'))
    .join('\n');
  const markers = sourceFiles(root, MOCKS_DIR).flatMap((file) => messages(file));
  return [...new Set(markers)].filter((marker) => !shared.includes(marker)).sort();
}

/** Each browser chunk under `chunksDir` that holds a marker, with the markers it holds. */
export function leaks(chunksDir: string, markers: readonly string[]): Array<{ chunk: string; markers: string[] }> {
  return readdirSync(chunksDir, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.js'))
    .flatMap((file) => {
      const text = readFileSync(path.join(chunksDir, file), 'utf8');
      const found = markers.filter((marker) => text.includes(marker));
      return found.length > 0 ? [{ chunk: file, markers: found }] : [];
    });
}
