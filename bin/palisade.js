#!/usr/bin/env node
// The `palisade` command (package.json "bin"): runs src/main.ts through tsx, as `npm start` does.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
