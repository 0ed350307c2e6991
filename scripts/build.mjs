// Builds dist/: the three entry points (server, worker, cli) bundled with their dependencies
// into a few ES modules, and the SQL migrations beside them.
//
// One bundle instead of ~1 900 files from node_modules: Node resolves each imported file's
// package scope and re-reads that package's package.json to learn the module format, which for
// a package with a large `exports` map (drizzle-orm's is 179 KB) cost more than a second of
// start-up and left ~80 MB of garbage behind. See docs/benchmarks.md, "One bundle".
//
// Kept outside the bundle, loaded from node_modules at run time, are the packages that read
// their own files: PGlite (its WebAssembly and data files), argon2 (a native addon), the
// Swagger plugins (their static assets and package.json) and pino (the worker thread of its
// transports, such as development's pino-pretty). Each resolves from dist/ to the same
// node_modules copy as from its importer: npm installs one of each (`npm ls <name>`).
import { cpSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

const EXTERNAL = [
  '@electric-sql/pglite',
  '@node-rs/argon2',
  '@fastify/swagger',
  '@fastify/swagger-ui',
  'pino',
];

rmSync('dist', { recursive: true, force: true });
await build({
  entryPoints: ['src/server.ts', 'src/worker.ts', 'src/cli.ts'],
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22.12',
  // Code the entry points share, and code loaded on first use (the mailer, PGlite, CSV), in
  // chunks of their own beside the entry points, so `import.meta.url` means dist/ everywhere.
  splitting: true,
  external: EXTERNAL,
  // Names stay as written (stack traces, `error.name`); one statement per line, so a stack
  // trace's line leads to the code. `node --enable-source-maps` maps it back to src/.
  keepNames: true,
  sourcemap: true,
  // CommonJS dependencies inside an ES module still find `require` and `__dirname`.
  banner: {
    js: [
      "import { createRequire as __createRequire } from 'node:module';",
      "import { dirname as __pathDirname } from 'node:path';",
      "import { fileURLToPath as __fileURLToPath } from 'node:url';",
      'const require = __createRequire(import.meta.url);',
      'const __filename = __fileURLToPath(import.meta.url);',
      'const __dirname = __pathDirname(__filename);',
    ].join(' '),
  },
  logLevel: 'warning',
});
cpSync('src/db/migrations', 'dist/migrations', { recursive: true });
