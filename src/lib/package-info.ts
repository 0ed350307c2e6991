import PACKAGE from '../../package.json' with { type: 'json' };

/** The release this is: `version` and `license` from package.json (inlined into dist/ by the build). */
export const packageInfo: { version: string; license?: string } = PACKAGE;
