export * from './tasks.js';
export * from './users.js';
