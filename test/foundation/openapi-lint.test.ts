import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { useTestApp } from '../helpers/app.js';

/**
 * The served OpenAPI document under two independent linters: Redocly's recommended rules (no
 * errors, no warnings) and Spectral with the OWASP API Security ruleset (no errors). The path
 * is the one `.redocly.lint-ignore.yaml` names; `npm run lint:openapi` runs the same checks.
 */
const t = useTestApp();
const run = promisify(execFile);
const DOCUMENT = 'reports/openapi.json';

async function lint(command: string, args: string[]): Promise<{ ok: boolean; output: string }> {
  try {
    const { stdout, stderr } = await run(`node_modules/.bin/${command}`, args);
    return { ok: true, output: `${stdout}${stderr}` };
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; message: string };
    return { ok: false, output: `${failed.stdout ?? ''}${failed.stderr ?? failed.message}` };
  }
}

describe('the OpenAPI document under independent linters', () => {
  it('when linted, then Redocly finds nothing and Spectral (OWASP) no error', async () => {
    const response = await t.app.inject({ url: '/openapi.json' });
    expect(response.statusCode).toBe(200);
    await mkdir('reports', { recursive: true });
    await writeFile(DOCUMENT, response.body);

    const redocly = await lint('redocly', ['lint', DOCUMENT, '--format', 'stylish']);
    expect(redocly.ok, redocly.output).toBe(true);
    expect(redocly.output, redocly.output).not.toMatch(/\bwarning\b/i);

    const spectral = await lint('spectral', [
      'lint',
      DOCUMENT,
      '--fail-severity',
      'error',
      '--display-only-failures',
    ]);
    expect(spectral.ok, spectral.output).toBe(true);
  }, 180_000);
});
