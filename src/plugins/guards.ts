import type { FastifyRequest } from 'fastify';
import Type from 'typebox';
import { AppError } from '../lib/errors.js';
import { ProblemSchema } from '../lib/route-docs.js';
import { currentAuth } from './auth.js';

/*
 * Route guards, declared after `app.authenticate`:
 *   onRequest: [app.authenticate, requireLogin]
 *   onRequest: [app.authenticate, requireSuperuser, requireLogin]
 * The rule lives here once; handlers and services never re-derive it.
 */

/**
 * The caller signed in interactively (an access JWT from `/auth/token`), not with a personal
 * access token. Account-sensitive routes declare it, so a leaked integration token cannot take
 * the account over (change its email or password, delete it, mint tokens, end sessions).
 */
export async function requireLogin(request: FastifyRequest): Promise<void> {
  if (currentAuth(request).sessionId === null) {
    throw new AppError(
      'login_required',
      'This operation needs an interactive login (an access token from /auth/token); ' +
        'personal access tokens cannot use it.',
    );
  }
}

/** The caller is a superuser. 403 `forbidden`, not 404: the routes exist for every caller. */
export async function requireSuperuser(request: FastifyRequest): Promise<void> {
  if (!currentAuth(request).isSuperuser) {
    throw new AppError('forbidden', 'Only a superuser may manage users.');
  }
}

/** For the description of a route that declares `requireLogin`. */
export const LOGIN_REQUIRED_NOTE =
  'Needs an interactive login (an access token from `/auth/token`): a personal access token gets ' +
  '403 `login_required`.';

/** The 403 answer of a route that declares `requireLogin`. */
export const LoginRequiredProblemSchema = Type.Object(ProblemSchema.properties, {
  description:
    '`login_required`: called with a personal access token; `insufficient_scope`: a read-only ' +
    'token on a changing method.',
});

/** The 403 answer of a route that declares `requireSuperuser` and `requireLogin`. */
export const SuperuserProblemSchema = Type.Object(ProblemSchema.properties, {
  description:
    '`forbidden`: the caller is not a superuser; `login_required`: called with a personal access ' +
    'token; `insufficient_scope`: a read-only token on a changing method.',
});
