import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { packageInfo as PACKAGE } from '../lib/package-info.js';
import { documentOperation } from '../lib/route-docs.js';

const require = createRequire(import.meta.url);
const REDOC_BUNDLE = require.resolve('redoc/bundles/redoc.standalone.js');
// `UNLICENSED` is npm's word for "no licence is granted"; it is not an SPDX identifier, so the
// document names it and links the licence section of its own description.
const LICENSE =
  PACKAGE.license === undefined || PACKAGE.license === 'UNLICENSED'
    ? { name: 'Proprietary (UNLICENSED)', url: '/redoc#section/Licence' }
    : { name: PACKAGE.license, identifier: PACKAGE.license };
const SPEC_URL = '/openapi.json';
// Relative, so "Try it out" calls the origin the docs were opened from; `x-internal: false`
// says the API is meant for outside callers.
const THIS_SERVER = {
  url: '/',
  description: 'The instance serving these docs (local, staging or production alike)',
  'x-internal': false,
};

// Every asset comes from this server, so the docs work with no internet access.
const DOCS_CSP = [
  "default-src 'self'",
  "base-uri 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "object-src 'none'",
  "frame-ancestors 'none'",
].join('; ');

const REDOC_PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Docket API reference</title>
  </head>
  <body>
    <redoc spec-url="/openapi.json"></redoc>
    <script src="/redoc/redoc.standalone.js"></script>
  </body>
</html>
`;

const DESCRIPTION = `Docket is a self-hostable task-management API.

Errors are RFC 9457 \`application/problem+json\` bodies with a stable \`code\` and the \`request_id\`.
Lists are cursor paginated: pass \`next_cursor\` back as \`cursor\`.

# Licence

Docket is proprietary software: its \`package.json\` says \`UNLICENSED\`, npm's word for "no
licence is granted". Using, copying or distributing it needs the owner's permission.`;

/** OpenAPI 3.1 from the route schemas, Swagger UI at /docs and ReDoc at /redoc. */
export default fp(
  async function docsPlugin(app: FastifyInstance) {
    await app.register(swagger, {
      // Shared schemas become components named by their `$id` (e.g. `Event`).
      refResolver: {
        buildLocalReference: (json, _baseUri, _fragment, i) =>
          typeof json.$id === 'string' ? json.$id : `def-${i}`,
      },
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'Docket API',
          version: PACKAGE.version,
          description: DESCRIPTION,
          license: LICENSE,
        },
        servers: [THIS_SERVER],
        tags: [
          { name: 'auth', description: 'Accounts and OAuth2 tokens' },
          {
            name: 'users',
            description: 'Your profile, sessions and access tokens; user administration',
          },
          { name: 'projects', description: 'Projects and their settings' },
          { name: 'members', description: 'Who belongs to a project, with which role' },
          { name: 'tasks', description: 'Tasks, subtasks and task lists' },
          { name: 'comments', description: 'Comments on tasks' },
          { name: 'activity', description: 'The event history of a project' },
          { name: 'jobs', description: 'Background work you started: status, progress, outcome' },
          { name: 'exports', description: 'A project out as JSON or CSV, and tasks in from CSV' },
          { name: 'operations', description: 'Health, metrics and documentation' },
        ],
        components: {
          securitySchemes: {
            oauth2: {
              type: 'oauth2',
              description:
                'Log in with email and password; the docs page then sends the access token. ' +
                'Access tokens are short-lived JWTs made and checked as RFC8725 advises: one ' +
                'pinned algorithm (HS256), explicit `typ` (`at+jwt`), issuer, audience and expiry ' +
                'always verified; the refresh token rotates on every use.',
              flows: {
                password: {
                  tokenUrl: '/api/v1/auth/token',
                  refreshUrl: '/api/v1/auth/token',
                  scopes: {},
                },
              },
            },
            bearer: {
              type: 'http',
              scheme: 'bearer',
              description: 'An access token (JWT) or a personal access token (`dkt_…`).',
            },
          },
        },
      },
      transform: documentOperation,
    });

    await app.register(swaggerUi, {
      routePrefix: '/docs',
      uiConfig: { persistAuthorization: false, validatorUrl: null, deepLinking: true },
      staticCSP: DOCS_CSP,
    });

    // The Swagger UI loads (and its top bar shows) the document's public address, not /docs/json.
    app.addHook('onSend', async (request, _reply, payload) => {
      if (request.url !== '/docs/static/swagger-initializer.js' || typeof payload !== 'string') {
        return payload;
      }
      return payload.replace("url: resolveUrl('./json')", `url: ${JSON.stringify(SPEC_URL)}`);
    });

    app.get(SPEC_URL, { schema: { hide: true }, config: { rateLimit: false } }, async () =>
      app.swagger(),
    );

    // Browsers ask for it on every docs visit; an empty answer beats a logged 404.
    app.get('/favicon.ico', { schema: { hide: true } }, async (_request, reply) =>
      reply.code(204).header('cache-control', 'public, max-age=86400').send(),
    );

    const redocBundle = await readFile(REDOC_BUNDLE);
    app.get('/redoc', { schema: { hide: true } }, async (_request, reply) =>
      reply
        .header('content-security-policy', DOCS_CSP)
        .type('text/html; charset=utf-8')
        .send(REDOC_PAGE),
    );
    app.get('/redoc/redoc.standalone.js', { schema: { hide: true } }, async (_request, reply) =>
      reply
        .header('cache-control', 'public, max-age=86400')
        .type('application/javascript; charset=utf-8')
        .send(redocBundle),
    );
  },
  { name: 'docs' },
);
