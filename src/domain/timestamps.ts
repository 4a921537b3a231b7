/** SAMA's `created_at`/`updated_at` (ISO-8601 with ms) from Parley's Unix-ms columns. */
export function timestamps(row: { createdAt: number; updatedAt: number }): { created_at: string; updated_at: string } {
  return { created_at: new Date(row.createdAt).toISOString(), updated_at: new Date(row.updatedAt).toISOString() };
}
