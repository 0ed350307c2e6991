export * from './auth.js';
export * from './idempotency.js';
export * from './tasks.js';
export * from './users.js';
export * from './jobs.js';
export * from './realtime.js';
