import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/**
 * The house's import rules (ARCHITECTURE.md), checked from the code: every import statement of
 * every production file (type-only imports, re-exports and dynamic imports included) is read with
 * TypeScript's own pre-processor, and each rule lists the imports that break it. Nothing here is a
 * list of allowed imports kept by hand.
 */

export interface Import {
  /** The importing file, relative to the root, with forward slashes. */
  from: string;
  /** The file imported (relative to the root) for a relative import, or the package's name. */
  to: string;
  /** Whether `to` is a package rather than a file of the tree. */
  external: boolean;
}

export interface Tree {
  /** Production files (server/, pwa/) and their line counts. */
  files: Map<string, number>;
  imports: Import[];
}

const SOURCE = /\.(ts|tsx)$/;
const SKIP_DIRS = new Set(['node_modules', 'dist']);

function sourceFiles(root: string, dir: string, out: string[] = []): string[] {
  const abs = path.join(root, dir);
  if (!fs.existsSync(abs)) return out;
  for (const entry of fs.readdirSync(abs, { withFileTypes: true })) {
    const rel = `${dir}/${entry.name}`;
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name)) sourceFiles(root, rel, out);
    } else if (SOURCE.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

const CONTRACT = 'server/contract.ts';

const packageName = (spec: string) =>
  spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;

/** Reads the production files under `root` (server/ and pwa/) and every import they make. */
export function readTree(root: string): Tree {
  const names = [...sourceFiles(root, 'server'), ...sourceFiles(root, 'pwa')];
  const known = new Set(names);
  const resolve = (from: string, spec: string): string => {
    const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), spec));
    const found = [base, `${base}.ts`, `${base}.tsx`, `${base}/index.ts`].find((c) => known.has(c));
    // An import of something that is not a source file (JSON, CSS) is still an import of that path.
    return found ?? base;
  };
  const files = new Map<string, number>();
  const imports: Import[] = [];
  for (const from of names) {
    const text = fs.readFileSync(path.join(root, from), 'utf8');
    files.set(from, text.split('\n').length - (text.endsWith('\n') ? 1 : 0));
    for (const { fileName: spec } of ts.preProcessFile(text, true, true).importedFiles) {
      const relative = spec.startsWith('.');
      imports.push({
        from,
        to: relative ? resolve(from, spec) : packageName(spec),
        external: !relative,
      });
    }
  }
  return { files, imports };
}

/**
 * `server/<folder>` for a file in a server folder, `server/contract` for the contract, and `server`
 * for the composition root (the server's other top-level files).
 */
export function folderOf(file: string): string {
  const parts = file.split('/');
  if (file === CONTRACT) return 'server/contract';
  if (parts[0] === 'server') return parts.length > 2 ? `server/${parts[1]}` : 'server';
  return parts.slice(0, Math.min(parts.length - 1, 3)).join('/');
}

const inFolder = (file: string, folder: string) => file.startsWith(`${folder}/`);
/** The composition root: the server's top-level files (main, runtime, cli, config…), not the contract. */
const isRoot = (file: string) => folderOf(file) === 'server' && file !== CONTRACT;
const show = (i: Import) => `${i.from} imports ${i.to}`;

/** Strongly connected groups of more than one node (Tarjan), each as a sorted list. */
function circles(nodes: Iterable<string>, edges: Map<string, Set<string>>): string[][] {
  let index = 0;
  const order = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    order.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!order.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, order.get(w)!));
    }
    if (low.get(v) === order.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      if (group.length > 1) found.push(group.sort());
    }
  };
  for (const v of nodes) if (!order.has(v)) visit(v);
  return found;
}

function graph(pairs: [string, string][]): Map<string, Set<string>> {
  const edges = new Map<string, Set<string>>();
  for (const [a, b] of pairs) {
    if (!edges.has(a)) edges.set(a, new Set());
    edges.get(a)!.add(b);
  }
  return edges;
}

const internal = (tree: Tree) => tree.imports.filter((i) => !i.external && tree.files.has(i.to));

/** Server folders import each other one way only: no circle of folders, type-only imports included. */
export function folderCircles(tree: Tree): string[] {
  const pairs = internal(tree)
    .filter((i) => i.from.startsWith('server/') && i.to.startsWith('server/'))
    .map((i) => [folderOf(i.from), folderOf(i.to)] as [string, string])
    .filter(([a, b]) => a !== b);
  const edges = graph(pairs);
  return circles(edges.keys(), edges).map((group) => {
    const inside = internal(tree).filter(
      (i) =>
        group.includes(folderOf(i.from)) &&
        group.includes(folderOf(i.to)) &&
        folderOf(i.from) !== folderOf(i.to),
    );
    return `${group.join(' ↔ ')}: ${inside.map(show).join('; ')}`;
  });
}

/** No circle of files either, anywhere in server/ or pwa/. */
export function fileCircles(tree: Tree): string[] {
  const edges = graph(internal(tree).map((i) => [i.from, i.to]));
  return circles(tree.files.keys(), edges).map((group) => group.join(' ↔ '));
}

/** Only the composition root imports the composition root (config, runtime, main, cli…). */
export function rootImportedBelow(tree: Tree): string[] {
  return internal(tree)
    .filter((i) => isRoot(i.to) && !isRoot(i.from))
    .map(show);
}

/** express, and server/http, are imported only in server/http and the composition root. */
export function httpOutsideHttp(tree: Tree): string[] {
  return tree.imports
    .filter((i) => (i.external ? i.to === 'express' : inFolder(i.to, 'server/http')))
    .filter((i) => !inFolder(i.from, 'server/http') && !isRoot(i.from))
    .map(show);
}

const DOMAIN_MAY_NOT_IMPORT = ['http', 'mail', 'intake', 'conversation', 'push', 'clocks'].map(
  (f) => `server/${f}`,
);
const TRANSPORTS = ['express', 'imapflow', 'nodemailer', 'mailparser', 'web-push', 'mailauth'];

/** server/cases, the domain, imports no transport, no mail, no push and no scheduler. */
export function domainImportsTransport(tree: Tree): string[] {
  return tree.imports
    .filter((i) => inFolder(i.from, 'server/cases'))
    .filter((i) =>
      i.external ? TRANSPORTS.includes(i.to) : DOMAIN_MAY_NOT_IMPORT.some((f) => inFolder(i.to, f)),
    )
    .map(show);
}

/** server/mail is a protocol library: of the product's code it imports server/lib only. */
export function mailImportsProduct(tree: Tree): string[] {
  return tree.imports
    .filter((i) => inFolder(i.from, 'server/mail') && !i.external)
    .filter((i) => !inFolder(i.to, 'server/mail') && !inFolder(i.to, 'server/lib'))
    .map(show);
}

/** One folder owns each outside protocol's library. */
export const PROTOCOL_OWNERS: Record<string, string> = {
  imapflow: 'server/mail',
  mailparser: 'server/mail',
  nodemailer: 'server/mail',
  mailauth: 'server/mail',
  'web-push': 'server/push',
};

export function protocolOutsideOwner(tree: Tree): string[] {
  return tree.imports
    .filter((i) => i.external && PROTOCOL_OWNERS[i.to] && !inFolder(i.from, PROTOCOL_OWNERS[i.to]!))
    .map(show);
}

/** The PWA imports from server/ the contract only, and the contract imports nothing. */
export function pwaBeyondContract(tree: Tree): string[] {
  const fromPwa = tree.imports.filter(
    (i) => i.from.startsWith('pwa/') && !i.external && i.to.startsWith('server/') && i.to !== CONTRACT,
  );
  const fromContract = tree.imports.filter((i) => i.from === CONTRACT);
  return [...fromPwa, ...fromContract].map(show);
}

export const MAX_LINES = 400;

/** No production file over 400 lines: past that, a file is probably doing two jobs. */
export function oversizeFiles(tree: Tree): string[] {
  return [...tree.files]
    .filter(([, lines]) => lines > MAX_LINES)
    .map(([f, lines]) => `${f} (${lines} lines)`);
}

const isFolder = (f: string) => f !== 'server' && f !== 'server/contract';

/** The server's folders, each before the folders it imports (the order ARCHITECTURE.md lists). */
export function layerOrder(tree: Tree): string[] {
  const pairs = internal(tree)
    .filter((i) => i.from.startsWith('server/') && i.to.startsWith('server/'))
    .map((i) => [folderOf(i.from), folderOf(i.to)] as [string, string])
    .filter(([a, b]) => a !== b && isFolder(a) && isFolder(b));
  const edges = graph(pairs);
  const folders = new Set(
    [...tree.files.keys()]
      .filter((f) => f.startsWith('server/'))
      .map(folderOf)
      .filter(isFolder),
  );
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (f: string) => {
    if (seen.has(f)) return;
    seen.add(f);
    for (const g of edges.get(f) ?? []) visit(g);
    order.push(f);
  };
  for (const f of [...folders].sort()) visit(f);
  return order.reverse();
}
