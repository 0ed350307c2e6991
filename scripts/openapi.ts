// Writes the app's own OpenAPI document to reports/openapi.json for the linters (`npm run lint:openapi`).
import { mkdir, writeFile } from 'node:fs/promises';
import { buildApp } from '../src/app.js';
import { testConfig } from '../src/config.js';
import { openDatabase } from '../src/db/client.js';

const OUTPUT = 'reports/openapi.json';

// An in-memory database: the document comes from the route schemas, not from stored data.
const app = await buildApp(testConfig({ databaseUrl: null, redisUrl: null }), {
  database: await openDatabase({ url: null }),
  redis: null,
});
try {
  await app.ready();
  await mkdir('reports', { recursive: true });
  await writeFile(OUTPUT, `${JSON.stringify(app.swagger(), null, 2)}\n`);
  console.log(`wrote ${OUTPUT}`);
} finally {
  await app.close();
}
