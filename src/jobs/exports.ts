import Type from 'typebox';
import { defineQueue } from './queues.js';

/** Attempts after the first before an export or import is reported failed to its user. */
export const TRANSFER_RETRY_LIMIT = 2;

const uuid = Type.String({ maxLength: 36 });

/** Exports and imports are retried and timed out alike. */
const TRANSFER_OPTIONS = {
  retryLimit: TRANSFER_RETRY_LIMIT,
  retryDelaySeconds: 30,
  expireInSeconds: 1800,
};

/** Builds one project export (`POST /projects/{id}/exports`) into `export_chunks`. */
export const exportQueue = defineQueue(
  'export',
  Type.Object({
    job_id: uuid,
    user_id: uuid,
    project_id: uuid,
    format: Type.Union([Type.Literal('json'), Type.Literal('csv')]),
  }),
  TRANSFER_OPTIONS,
);

/** Validates and applies one uploaded import (`POST /projects/{id}/imports`). */
export const importQueue = defineQueue(
  'import',
  Type.Object({ job_id: uuid, upload_id: uuid }),
  TRANSFER_OPTIONS,
);
