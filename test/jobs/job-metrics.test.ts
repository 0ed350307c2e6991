import { describe, expect, it } from 'vitest';
import { createUser } from '../helpers/factories.js';
import { useTestApp } from '../helpers/app.js';
import { waitFor } from '../helpers/redis-server.js';

// Nothing listens on port 9 (discard) here, so every mail attempt fails and waits a minute.
const t = useTestApp({
  config: { smtpUrl: 'smtp://127.0.0.1:9', mailRetryDelaySeconds: 60, jobPollIntervalMs: 500 },
});

async function scrape(): Promise<string> {
  const response = await t.app.inject({ url: '/metrics' });
  expect(response.statusCode).toBe(200);
  return response.body;
}

describe('/metrics for jobs', () => {
  it('when a mail fails and waits for its retry, then depth, failures and durations show it by queue', async () => {
    const idle = await scrape();
    expect(idle).toContain('docket_job_queue_depth{queue="mail"} 0');
    expect(idle).toContain('docket_job_queue_depth{queue="maintenance"} 0');

    const { user } = await createUser(t.app);
    await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/password-recovery',
      payload: { email: user.email },
    });
    // Counted when the attempt ends; waiting once pg-boss has settled it as a retry.
    let body = '';
    await waitFor(
      async () => {
        body = await scrape();
        return (
          body.includes('docket_job_failures_total{queue="mail"} 1') &&
          body.includes('docket_job_queue_depth{queue="mail"} 1')
        );
      },
      'the failed mail to wait for its retry',
      30_000,
    );
    expect(body).toMatch(/docket_job_duration_seconds_count\{queue="mail"\} 1\b/);
  }, 60_000);
});
