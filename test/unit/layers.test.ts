import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  MAX_LINES,
  domainImportsTransport,
  fileCircles,
  folderCircles,
  httpOutsideHttp,
  layerOrder,
  mailImportsProduct,
  oversizeFiles,
  protocolOutsideOwner,
  pwaBeyondContract,
  readTree,
  rootImportedBelow,
  type Tree,
} from '../support/house-rules';

/**
 * The house stays one-way (ARCHITECTURE.md). Each rule is checked twice: against the code as it
 * is, where it must find nothing, and against a small tree written to break it, where it must
 * find exactly the import that does.
 */

const RULES = {
  'server folders import each other one way only': folderCircles,
  'no two files import each other, directly or round a circle': fileCircles,
  'only the composition root imports config, runtime and main': rootImportedBelow,
  'express and server/http are imported only in http and the composition root': httpOutsideHttp,
  'server/cases imports no transport, mail, intake, conversation, push or scheduler': domainImportsTransport,
  'server/mail imports nothing of the product but server/lib': mailImportsProduct,
  'imapflow, mailparser, nodemailer and mailauth only under server/mail; web-push only under server/push':
    protocolOutsideOwner,
  'the PWA imports from server/ only the contract, which imports nothing': pwaBeyondContract,
  [`no production file over ${MAX_LINES} lines`]: oversizeFiles,
};

describe('when the import statements of the code as built are read', () => {
  const tree = readTree(path.resolve(__dirname, '..', '..'));

  it('then they were read: the server, the PWA and the imports between their folders', () => {
    expect(tree.files.size).toBeGreaterThan(100);
    expect(
      tree.imports.some((i) => i.from === 'server/intake/ingest.ts' && i.to.startsWith('server/cases/')),
    ).toBe(true);
    expect(tree.imports.some((i) => i.from.startsWith('pwa/') && i.to === 'server/contract.ts')).toBe(true);
  });

  it.each(Object.entries(RULES))('then %s', (_, rule) => {
    expect(rule(tree)).toEqual([]);
  });

  it('then the server folders stack in one order, with http on top and lib at the bottom', () => {
    const order = layerOrder(tree);
    const at = (f: string) => order.indexOf(`server/${f}`);
    expect(at('http')).toBe(0);
    expect(order.at(-1)).toBe('server/lib');
    expect(at('intake')).toBeLessThan(at('conversation'));
    expect(at('conversation')).toBeLessThan(at('cases'));
    expect(at('clocks')).toBeLessThan(at('cases'));
    expect(at('cases')).toBeLessThan(at('mail'));
  });
});

describe('when a tree breaks a rule', () => {
  let root: string;
  const write = (file: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), text);
  };
  const treeOf = (files: Record<string, string>): Tree => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-house-'));
    for (const [file, text] of Object.entries(files)) write(file, text);
    return readTree(root);
  };
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('then a circle of folders is found, through a type-only import too', () => {
    const tree = treeOf({
      'server/cases/a.ts': "import type { B } from '../clocks/b';\nexport type A = B;\n",
      'server/clocks/b.ts': "import { a } from '../cases/c';\nexport type B = string;\n",
      'server/cases/c.ts': 'export const a = 1;\n',
    });
    expect(folderCircles(tree)).toEqual([
      'server/cases ↔ server/clocks: server/cases/a.ts imports server/clocks/b.ts; server/clocks/b.ts imports server/cases/c.ts',
    ]);
    expect(fileCircles(tree)).toEqual([]);
  });

  it('then a circle of files is found, and a re-export counts as an import', () => {
    const tree = treeOf({
      'server/cases/a.ts': "export { b } from './b';\nexport const a = 1;\n",
      'server/cases/b.ts': "import { a } from './a';\nexport const b = a;\n",
    });
    expect(fileCircles(tree)).toEqual(['server/cases/a.ts ↔ server/cases/b.ts']);
  });

  it('then a folder that imports the config is found, and the composition root may', () => {
    const tree = treeOf({
      'server/config.ts': 'export const c = 1;\n',
      'server/main.ts': "import { c } from './config';\n",
      'server/intake/poller.ts': "import type { c } from '../config';\n",
    });
    expect(rootImportedBelow(tree)).toEqual(['server/intake/poller.ts imports server/config.ts']);
  });

  it('then express or an http module outside http is found, and inside http it is not', () => {
    const tree = treeOf({
      'server/http/app.ts': "import express from 'express';\n",
      'server/clocks/routes.ts':
        "import type { Router } from 'express';\nimport { wrap } from '../http/app';\n",
      'server/main.ts': "import { app } from './http/app';\n",
    });
    expect(httpOutsideHttp(tree)).toEqual([
      'server/clocks/routes.ts imports express',
      'server/clocks/routes.ts imports server/http/app.ts',
    ]);
  });

  it('then the domain importing mail, push, the scheduler or a transport package is found', () => {
    const tree = treeOf({
      'server/cases/view.ts':
        "import { sanitize } from '../mail/sanitize';\nimport { dueAlerts } from '../clocks/clocks';\nimport webpush from 'web-push';\nimport { z } from 'zod';\nimport { User } from '../auth/users';\n",
      'server/mail/sanitize.ts': 'export const sanitize = 1;\n',
      'server/clocks/clocks.ts': 'export const dueAlerts = 1;\n',
      'server/auth/users.ts': 'export const User = 1;\n',
    });
    expect(domainImportsTransport(tree)).toEqual([
      'server/cases/view.ts imports server/mail/sanitize.ts',
      'server/cases/view.ts imports server/clocks/clocks.ts',
      'server/cases/view.ts imports web-push',
    ]);
  });

  it('then mail importing the product (the database, cases) is found, and lib is allowed', () => {
    const tree = treeOf({
      'server/mail/poller.ts':
        "import { lease } from '../db/lease';\nimport { sha256 } from '../lib/hash';\nimport { ImapFlow } from 'imapflow';\nimport { raw } from './raw';\n",
      'server/mail/raw.ts': 'export const raw = 1;\n',
      'server/db/lease.ts': 'export const lease = 1;\n',
      'server/lib/hash.ts': 'export const sha256 = 1;\n',
    });
    expect(mailImportsProduct(tree)).toEqual(['server/mail/poller.ts imports server/db/lease.ts']);
    expect(protocolOutsideOwner(tree)).toEqual([]);
  });

  it('then a protocol library outside the folder that owns it is found, subpaths included', () => {
    const tree = treeOf({
      'server/auth/member-mail.ts': "import type { Transporter } from 'nodemailer/lib/mailer';\n",
      'server/clocks/push.ts': "const webpush = await import('web-push');\n",
      'server/push/deliver.ts': "import webpush from 'web-push';\n",
    });
    expect(protocolOutsideOwner(tree)).toEqual([
      'server/auth/member-mail.ts imports nodemailer',
      'server/clocks/push.ts imports web-push',
    ]);
  });

  it('then the PWA importing more of the server than the contract, or a contract that imports, is found', () => {
    const tree = treeOf({
      'server/contract.ts': "import { x } from './cases/lifecycle';\nexport const STATUSES = x;\n",
      'server/cases/lifecycle.ts': 'export const x = 1;\n',
      'pwa/src/app/types.ts':
        "export { STATUSES } from '../../../server/contract';\nexport { x } from '../../../server/cases/lifecycle';\n",
    });
    expect(pwaBeyondContract(tree)).toEqual([
      'pwa/src/app/types.ts imports server/cases/lifecycle.ts',
      'server/contract.ts imports server/cases/lifecycle.ts',
    ]);
  });

  it(`then a file of ${MAX_LINES + 1} lines is found, and one of ${MAX_LINES} is not`, () => {
    const lines = (n: number) => 'export const a = 1;\n'.repeat(n);
    const tree = treeOf({
      'server/cases/big.ts': lines(MAX_LINES + 1),
      'pwa/src/app/ok.tsx': lines(MAX_LINES),
    });
    expect(oversizeFiles(tree)).toEqual([`server/cases/big.ts (${MAX_LINES + 1} lines)`]);
  });
});
