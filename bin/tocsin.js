#!/usr/bin/env node
// The package's CLI. TypeScript sources run through tsx, as `npm start` does.
require('tsx/cjs');
require('../server/cli.ts');
