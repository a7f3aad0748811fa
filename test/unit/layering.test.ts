import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The import rules (like go-containerregistry's depcheck): a module may import from its own layer and the
 * layers below it, never from one above; and no two packages (folders of src/, or a loose file) import each
 * other, directly or round a loop. The README's Layout section shows the same order.
 */
const LAYERS: readonly (readonly string[])[] = [
  ['cmd'],
  ['src/cli'],
  ['src/jobs', 'src/reconcile', 'src/config', 'src/report', 'src/browse', 'src/site', 'src/kube'],
  ['src/sources', 'src/transports', 'src/store'],
  ['src/registry'],
  ['src/auth'],
  ['src/http'],
  ['src/ref'],
  ['src/errors.ts', 'src/log.ts', 'src/package-info.ts'],
];

type Graph = ReadonlyMap<string, readonly string[]>;

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The package of a repo-relative path: the entry of LAYERS it falls under, undefined when none does. */
function packageOf(file: string): string | undefined {
  return LAYERS.flat().find((entry) => file === entry || file.startsWith(`${entry}/`));
}

function layerOf(pkg: string): number {
  return LAYERS.findIndex((layer) => layer.includes(pkg));
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

// statements at the start of a line (so not in doc comments): `import … from`, `import type … from`,
// `export … from` (over several lines), `import '…'`; and `import('…')` anywhere
const IMPORT = /^\s*(?:import|export)\b[^;'"]*?\bfrom\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm;

/** Every file's relative imports (TypeScript 7 has no parser API for tests to use), as repo-relative paths. */
function importGraph(files: readonly string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(join(root, file), 'utf8');
    const targets = [...text.matchAll(IMPORT)]
      .map((match) => match[1] ?? match[2] ?? match[3]!)
      .filter((name) => name.startsWith('.'))
      .map((name) => relative(root, resolve(root, dirname(file), name.replace(/\.js$/, '.ts'))));
    graph.set(file, targets);
  }
  return graph;
}

/** Imports that go up the table, or leave it: one line each. */
function upwardImports(graph: Graph): string[] {
  const problems: string[] = [];
  for (const [file, targets] of graph) {
    const from = packageOf(file);
    if (from === undefined) {
      problems.push(`${file} is in no layer: add its folder to LAYERS`);
      continue;
    }
    for (const target of targets) {
      const to = packageOf(target);
      if (to === undefined) problems.push(`${file} imports ${target}, which is in no layer`);
      else if (layerOf(to) < layerOf(from)) problems.push(`${file} imports ${target}: ${to} is a layer above ${from}`);
    }
  }
  return problems;
}

/** Loops between packages (a module loop is one too), each as `a → b → a`; Tarjan's strongly connected components. */
function packageCycles(graph: Graph): string[] {
  const edges = new Map<string, Set<string>>();
  for (const [file, targets] of graph) {
    const from = packageOf(file);
    if (from === undefined) continue;
    const out = edges.get(from) ?? new Set<string>();
    edges.set(from, out);
    for (const target of targets) {
      const to = packageOf(target);
      if (to !== undefined && to !== from) out.add(to);
    }
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const cycles: string[] = [];
  const visit = (node: string): void => {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    for (const next of edges.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (stack.includes(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const component = stack.splice(stack.indexOf(node));
    if (component.length > 1) cycles.push([...component.sort(), component[0]].join(' → '));
  };
  for (const node of edges.keys()) if (!index.has(node)) visit(node);
  return cycles;
}

/** Loops between single modules, including those inside one package. */
function moduleCycles(graph: Graph): string[] {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const cycles: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    path.push(file);
    for (const target of graph.get(file) ?? []) {
      if (state.get(target) === 'open') cycles.push([...path.slice(path.indexOf(target)), target].join(' → '));
      else if (!state.has(target)) visit(target);
    }
    path.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return cycles;
}

describe('layering: imports only go down the layer table', () => {
  const files = [...sourceFiles('src'), ...sourceFiles('cmd')];
  const graph = importGraph(files);

  it('reads the imports of every file in src/ and cmd/', () => {
    assert.ok(files.includes('cmd/gcrsync.ts') && files.includes('src/errors.ts'));
    assert.ok(graph.get('src/cli/wiring.ts')!.includes('src/registry/client.ts'));
    for (const file of files) {
      // every `from './…'` in the text is an import the graph holds (a multi-line import list included)
      const written = readFileSync(join(root, file), 'utf8').match(/\bfrom\s*['"]\./g)?.length ?? 0;
      assert.ok(graph.get(file)!.length >= written, `${file}: ${written} relative imports written, ${graph.get(file)!.length} read`);
    }
    for (const [file, targets] of graph) {
      for (const target of targets) assert.ok(existsSync(join(root, target)), `${file} imports ${target}, which does not exist`);
    }
  });

  it('has no import from a layer above, and every file in a layer', () => {
    assert.deepEqual(upwardImports(graph), []);
  });

  it('has no loop between packages or modules', () => {
    assert.deepEqual(packageCycles(graph), []);
    assert.deepEqual(moduleCycles(graph), []);
  });

  it('catches what it is there to catch', () => {
    const bad = new Map([
      ['src/store/pages.ts', ['src/browse/lookup.ts', 'src/errors.ts']],
      ['src/browse/lookup.ts', ['src/store/pages.ts']],
      ['src/jobs/a.ts', ['src/config/b.ts']],
      ['src/config/b.ts', ['src/jobs/c.ts']],
      ['src/jobs/c.ts', []],
      ['src/auth/x.ts', ['src/auth/y.ts']],
      ['src/auth/y.ts', ['src/auth/x.ts']],
      ['src/newfolder/z.ts', []],
    ]);
    assert.deepEqual(upwardImports(bad), [
      'src/store/pages.ts imports src/browse/lookup.ts: src/browse is a layer above src/store',
      'src/newfolder/z.ts is in no layer: add its folder to LAYERS',
    ]);
    assert.deepEqual(packageCycles(bad).sort(), ['src/browse → src/store → src/browse', 'src/config → src/jobs → src/config']);
    assert.deepEqual(moduleCycles(bad), [
      'src/store/pages.ts → src/browse/lookup.ts → src/store/pages.ts',
      'src/auth/x.ts → src/auth/y.ts → src/auth/x.ts',
    ]);
  });
});
