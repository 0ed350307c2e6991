import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { AppError } from '../lib/errors.js';

export type Scope = 'read' | 'write';

/** Who is calling, resolved once per request by `app.authenticate`. */
export interface AuthContext {
  userId: string;
  isSuperuser: boolean;
  /** The session of an access JWT; `null` for a personal access token. */
  sessionId: string | null;
  /** The personal access token used; `null` for an access JWT. */
  tokenId: string | null;
  scopes: ReadonlySet<Scope>;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function unauthenticated(detail: string, tokenPresented: boolean): AppError {
  const challenge = tokenPresented ? 'Bearer error="invalid_token"' : 'Bearer';
  return new AppError(tokenPresented ? 'invalid_token' : 'unauthenticated', detail, {
    headers: { 'www-authenticate': challenge },
  });
}

function bearerToken(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (header === undefined) return null;
  const match = /^Bearer +([A-Za-z0-9._~+/=-]+)$/i.exec(header.trim());
  if (!match?.[1])
    throw unauthenticated('The Authorization header must be "Bearer <token>".', true);
  return match[1];
}

/**
 * Bearer authentication for access JWTs and personal access tokens, resolved by the
 * authenticator from `app.services`. Routes opt in with
 * `onRequest: [app.authenticate]`; then `request.auth` is set, or the request ends with 401.
 * A token without the `write` scope may only use safe methods (403 otherwise).
 */
export default fp(
  async function authPlugin(app: FastifyInstance) {
    const { authenticator } = app.services;
    app.decorateRequest('auth', null);
    app.decorate('authenticate', async function authenticate(request: FastifyRequest) {
      const token = bearerToken(request);
      if (token === null) throw unauthenticated('This endpoint needs a bearer token.', false);
      const auth = await authenticator.resolve(token);
      if (auth === null) throw unauthenticated('The token is invalid, expired or revoked.', true);
      if (!SAFE_METHODS.has(request.method) && !auth.scopes.has('write')) {
        throw new AppError('insufficient_scope', 'This token has the read scope only.');
      }
      request.auth = auth;
    });
  },
  { name: 'auth', dependencies: ['errors'], decorators: { fastify: ['services'] } },
);

/** The caller of a route that ran `app.authenticate`. */
export function currentAuth(request: FastifyRequest): AuthContext {
  if (request.auth === null)
    throw new AppError('unauthenticated', 'This endpoint needs a bearer token.');
  return request.auth;
}

declare module 'fastify' {
  interface FastifyRequest {
    auth: AuthContext | null;
  }
  interface FastifyInstance {
    authenticate: (request: FastifyRequest) => Promise<void>;
  }
}
