import { getTableColumns, type InferSelectModel, type Table } from 'drizzle-orm';

type Raw = Record<string, unknown>;

/**
 * Turns a row of hand-written SQL (`select *` or `returning *`, snake_case column names as the
 * drivers return them) into the table's Drizzle row type, decoding each value with the column's own
 * driver mapping (timestamps to Date, bigint mode number to number, jsonb text to objects), so a
 * table is described once, in the schema, and hand-written SQL in a repository needs no mapper.
 * Columns the query did not select come back undefined; extra columns (aggregates) are ignored.
 */
export function rowMapper<T extends Table>(table: T): (raw: Raw) => InferSelectModel<T> {
  const columns = Object.entries(getTableColumns(table));
  return (raw) => {
    const row: Raw = {};
    for (const [key, column] of columns) {
      const value = raw[column.name];
      row[key] = value === null || value === undefined ? value : column.mapFromDriverValue(value);
    }
    return row as InferSelectModel<T>;
  };
}
