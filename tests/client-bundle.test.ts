// No mock-provider code reaches the browser. Two checks: here, the import graph of every client
// component (files that start with 'use client'), followed through every import that carries a
// value, must not reach infra/: the admin's fault panel shares the mocks' vocabulary as types only.
// And after each production build, scripts/check-client-bundle.ts greps the browser chunks for the
// mocks' own messages; its detector is tested here against chunks made for the purpose.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { leaks, mockMarkers } from '@/scripts/client-bundle-leaks';

const ROOT = process.cwd();

function clientComponents(): string[] {
  return readdirSync(path.join(ROOT, 'app'), { recursive: true, encoding: 'utf8' })
    .filter((file) => /\.(ts|tsx)$/.test(file))
    .map((file) => path.join('app', file))
    .filter((file) => /^\s*(\/\/[^\n]*\n\s*)*['"]use client['"]/.test(readFileSync(path.join(ROOT, file), 'utf8')));
}

/** The repo files a module imports for values: type-only imports and exports are left out. */
function valueImports(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(path.join(ROOT, file), 'utf8'), ts.ScriptTarget.Latest, false);
  const specifiers: string[] = [];
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement)) {
      const clause = statement.importClause;
      const typeOnly =
        clause !== undefined &&
        (clause.isTypeOnly ||
          (!clause.name &&
            clause.namedBindings !== undefined &&
            ts.isNamedImports(clause.namedBindings) &&
            clause.namedBindings.elements.every((element) => element.isTypeOnly)));
      if (!typeOnly) specifiers.push((statement.moduleSpecifier as ts.StringLiteral).text);
    } else if (ts.isExportDeclaration(statement) && statement.moduleSpecifier && !statement.isTypeOnly) {
      specifiers.push((statement.moduleSpecifier as ts.StringLiteral).text);
    }
  }
  return specifiers.flatMap((specifier) => resolve(file, specifier));
}

function resolve(from: string, specifier: string): string[] {
  const base = specifier.startsWith('@/')
    ? specifier.slice(2)
    : specifier.startsWith('.')
      ? path.join(path.dirname(from), specifier)
      : undefined;
  if (base === undefined) return [];
  for (const candidate of [base, `${base}.ts`, `${base}.tsx`, path.join(base, 'index.ts')]) {
    try {
      if (readdirSync(path.dirname(path.join(ROOT, candidate))).includes(path.basename(candidate))) {
        if (/\.(ts|tsx)$/.test(candidate)) return [candidate];
      }
    } catch {
      // not a directory
    }
  }
  return [];
}

/** Every repo file the browser bundle can contain, each with the chain that brings it in. */
function reachedFromClient(): Map<string, string[]> {
  const reached = new Map<string, string[]>();
  const queue = clientComponents().map((file) => [file]);
  for (let chain = queue.shift(); chain; chain = queue.shift()) {
    const file = chain.at(-1) as string;
    if (reached.has(file)) continue;
    reached.set(file, chain);
    // A server action module reaches the browser as a reference, not as code.
    if (chain.length > 1 && /^\s*(\/\/[^\n]*\n\s*)*['"]use server['"]/.test(readFileSync(path.join(ROOT, file), 'utf8'))) continue;
    for (const next of valueImports(file)) queue.push([...chain, next]);
  }
  return reached;
}

describe('the browser bundle', () => {
  it('imports nothing of the mock providers for its values', () => {
    const reached = reachedFromClient();
    // The walk follows real imports: the admin console's client code reaches its formatting helpers.
    expect([...reached.keys()]).toContain(path.join('app', 'admin', '(console)', 'format-units.ts'));
    const intoInfra = [...reached].filter(([file]) => file.startsWith(`infra${path.sep}`)).map(([, chain]) => chain.join(' → '));
    expect(intoInfra).toEqual([]);
  });
});

describe('the build check for mock code in browser chunks', () => {
  const markers = mockMarkers(ROOT);

  it("takes the mocks' own messages as markers, and none the app writes too", () => {
    expect(markers).toContain('avatars must be uploaded as image/png');
    expect(markers.length).toBeGreaterThan(10);
    expect(markers).not.toContain('Idempotency-Key');
  });

  it('finds a chunk that holds one, and passes chunks that do not', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'chunks-'));
    try {
      writeFileSync(path.join(dir, 'clean.js'), 'console.log("answers normally")');
      writeFileSync(path.join(dir, 'leaky.js'), 'throw new Error("avatars must be uploaded as image/png")');
      expect(leaks(dir, markers)).toEqual([{ chunk: 'leaky.js', markers: ['avatars must be uploaded as image/png'] }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
