// Writes web/src/generated/openapi.ts, the TypeScript types of docs/openapi.yaml (openapi-typescript),
// so a change to the contract breaks the pages' build (tsc), not a user. Run by `npm run build:web`.
import { mkdirSync, writeFileSync } from 'node:fs';
import openapiTS, { astToString } from 'openapi-typescript';

const source = new URL('../docs/openapi.yaml', import.meta.url);
const target = new URL('./src/generated/openapi.ts', import.meta.url);
const ast = await openapiTS(source);
mkdirSync(new URL('.', target), { recursive: true });
writeFileSync(target, `// Generated from docs/openapi.yaml by web/openapi-types.mjs: do not edit.\n${astToString(ast)}`);
