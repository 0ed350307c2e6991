/** Whether a subscription's filters take an event type: exact, by family (`task.*`) or `*`. */
export function matchesFilters(filters: readonly string[], type: string): boolean {
  if (type === 'webhook.ping') return true;
  const family = `${type.split('.')[0]}.*`;
  return filters.some((filter) => filter === '*' || filter === type || filter === family);
}
