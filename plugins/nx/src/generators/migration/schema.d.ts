/** Options of `nx g @dbee/nx:migration` (see schema.json). */
export interface MigrationGeneratorSchema {
  /** dbee name (`sales`) or Nx name (`db-sales`) of the project. */
  project: string;
  /** What the migration does; it becomes the file name. */
  description: string;
}
