// Reads what Prisma manages (tables, columns with type, nullability and default, primary keys,
// unique and plain indexes, foreign keys) from two sides in one comparable form: schema.prisma
// through Prisma's own parser, and a database through pg_catalog. Each object is one readable line,
// so a failing comparison names exactly what is missing or extra. Names are Prisma's defaults,
// since `prisma migrate diff` would rename anything else.
import { getDMMF } from '@prisma/get-dmmf';
import type pg from 'pg';

/** One readable line per object, sorted. */
export interface SchemaShape {
  tables: string[];
  columns: string[];
  indexes: string[];
  foreignKeys: string[];
}

type Dmmf = Exclude<ReturnType<typeof getDMMF>, { reason: string }>;
type Model = Dmmf['datamodel']['models'][number];
type Field = Model['fields'][number];

// PostgreSQL's format_type() spelling of what Prisma creates for each schema type.
const PRISMA_TYPES: Record<string, string> = {
  String: 'text',
  Int: 'integer',
  BigInt: 'bigint',
  Boolean: 'boolean',
  Float: 'double precision',
  DateTime: 'timestamp(3) without time zone',
  Json: 'jsonb',
  Bytes: 'bytea',
};
const NATIVE_TYPES: Record<string, (args: readonly string[]) => string> = {
  Uuid: () => 'uuid',
  Citext: () => 'citext',
  Text: () => 'text',
  Timestamptz: ([precision = '3']) => `timestamp(${precision}) with time zone`,
  Timestamp: ([precision = '3']) => `timestamp(${precision}) without time zone`,
};
const REFERENTIAL_ACTIONS: Record<string, string> = {
  Cascade: 'CASCADE',
  Restrict: 'RESTRICT',
  NoAction: 'NO ACTION',
  SetNull: 'SET NULL',
  SetDefault: 'SET DEFAULT',
};
const PG_REFERENTIAL_ACTIONS: Record<string, string> = {
  c: 'CASCADE',
  r: 'RESTRICT',
  a: 'NO ACTION',
  n: 'SET NULL',
  d: 'SET DEFAULT',
};

// How each kind reads in a shape line, and the suffix of Prisma's default name for it.
const INDEX_KINDS = { id: ['PRIMARY KEY', 'pkey'], unique: ['UNIQUE', 'key'], normal: ['INDEX', 'idx'] } as const;

function unsupported(what: string): never {
  throw new Error(`db-schema-shape.ts does not know ${what} yet; teach it before relying on it`);
}

export function shapeOfSchema(source: string): SchemaShape {
  const dmmf = getDMMF({ datamodel: source });
  if ('reason' in dmmf) throw new Error(`schema.prisma does not parse: ${dmmf.reason}`, { cause: dmmf.error });
  const models = new Map(dmmf.datamodel.models.map((model) => [model.name, model]));
  const modelNamed = (name: string) => models.get(name) ?? unsupported(`model ${name}`);
  const tableOf = (model: Model) => model.dbName ?? model.name;
  const columnOf = (model: Model, fieldName: string) => {
    const field = model.fields.find((candidate) => candidate.name === fieldName);
    return field?.dbName ?? field?.name ?? unsupported(`field ${model.name}.${fieldName}`);
  };

  const shape: SchemaShape = { tables: [], columns: [], indexes: [], foreignKeys: [] };
  for (const model of dmmf.datamodel.models) {
    const table = tableOf(model);
    shape.tables.push(table);
    for (const field of model.fields) {
      if (field.kind === 'scalar') {
        const column = field.dbName ?? field.name;
        const fallback = columnDefault(table, column, field);
        shape.columns.push(describeColumn(table, column, columnType(field), field.isRequired, fallback));
      } else if (field.kind === 'object') {
        const from = field.relationFromFields ?? [];
        if (from.length === 0) continue; // the side without the foreign key
        const target = modelNamed(field.type);
        const columns = from.map((name) => columnOf(model, name));
        const required = from.every((name) => model.fields.find((f) => f.name === name)?.isRequired);
        // Prisma's defaults when the relation names no action.
        const onDelete = field.relationOnDelete ?? (required ? 'Restrict' : 'SetNull');
        const onUpdate = field.relationOnUpdate ?? 'Cascade';
        shape.foreignKeys.push(
          describeForeignKey(
            `${table}_${columns.join('_')}_fkey`,
            table,
            columns.join(', '),
            tableOf(target),
            (field.relationToFields ?? []).map((name) => columnOf(target, name)).join(', '),
            REFERENTIAL_ACTIONS[onUpdate] ?? unsupported(`onUpdate: ${onUpdate}`),
            REFERENTIAL_ACTIONS[onDelete] ?? unsupported(`onDelete: ${onDelete}`),
          ),
        );
      } else {
        unsupported(`${field.kind} fields (${model.name}.${field.name})`);
      }
    }
  }
  for (const index of dmmf.datamodel.indexes) {
    const model = modelNamed(index.model);
    const table = tableOf(model);
    const columns = index.fields.map((field) => columnOf(model, field.name));
    if (index.type === 'fulltext') unsupported('fulltext indexes');
    const [kind, suffix] = INDEX_KINDS[index.type];
    const name = index.dbName ?? (index.type === 'id' ? `${table}_pkey` : `${table}_${columns.join('_')}_${suffix}`);
    const keys = index.fields.map((field, i) => `${columns[i]}${field.sortOrder === 'desc' ? ' DESC' : ''}`);
    const method = (index.algorithm ?? 'BTree').toLowerCase();
    shape.indexes.push(describeIndex(name, kind, table, method, keys.join(', '), null));
  }
  return sortShape(shape);
}

function columnType(field: Field): string {
  const [nativeName, nativeArgs] = field.nativeType ?? [];
  const base =
    nativeName === undefined
      ? (PRISMA_TYPES[field.type] ?? unsupported(`type ${field.type}`))
      : (NATIVE_TYPES[nativeName] ?? unsupported(`@db.${nativeName}`))(nativeArgs ?? []);
  return field.isList ? `${base}[]` : base;
}

function columnDefault(table: string, column: string, field: Field): string | null {
  const value = field.default;
  if (value === undefined) return null;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  // A String field's default, as PostgreSQL reads it back for a text column.
  if (typeof value === 'string' && field.type === 'String' && !field.nativeType) return `'${value.replaceAll("'", "''")}'::text`;
  if (typeof value !== 'object' || !('name' in value)) return unsupported(`default ${JSON.stringify(value)}`);
  switch (value.name) {
    case 'now':
      return 'CURRENT_TIMESTAMP';
    case 'autoincrement':
      return `nextval('${table}_${column}_seq'::regclass)`;
    case 'dbgenerated':
      return String(value.args[0]);
    // Generated by Prisma Client, not by the database.
    case 'uuid':
    case 'cuid':
    case 'nanoid':
    case 'ulid':
      return null;
    default:
      return unsupported(`@default(${value.name}())`);
  }
}

const describeColumn = (table: string, column: string, type: string, notNull: boolean, fallback: string | null) =>
  `${table}.${column} ${type}${notNull ? ' NOT NULL' : ''}${fallback === null ? '' : ` DEFAULT ${fallback}`}`;
const describeIndex = (name: string, kind: string, table: string, method: string, keys: string, where: string | null) =>
  `${name}: ${kind} ON ${table} USING ${method} (${keys})${where === null ? '' : ` WHERE ${where}`}`;
const describeForeignKey = (
  name: string,
  table: string,
  columns: string,
  target: string,
  targetColumns: string,
  onUpdate: string,
  onDelete: string,
) => `${name}: ${table}(${columns}) REFERENCES ${target}(${targetColumns}) ON UPDATE ${onUpdate} ON DELETE ${onDelete}`;

const sortShape = (shape: SchemaShape): SchemaShape => ({
  tables: [...shape.tables].sort(),
  columns: [...shape.columns].sort(),
  indexes: [...shape.indexes].sort(),
  foreignKeys: [...shape.foreignKeys].sort(),
});

const OWN_RELATION = `n.nspname = current_schema() AND c.relname <> '_prisma_migrations'`;
const keyColumns = (keys: string, relation: string) =>
  `(SELECT string_agg(a.attname::text, ', ' ORDER BY k.ord) FROM unnest(${keys}) WITH ORDINALITY AS k(attnum, ord)
      JOIN pg_attribute a ON a.attrelid = ${relation} AND a.attnum = k.attnum)`;

interface ColumnRow {
  table: string;
  column: string;
  type: string;
  not_null: boolean;
  fallback: string | null;
}
interface IndexRow {
  name: string;
  table: string;
  primary: boolean;
  unique: boolean;
  method: string;
  keys: string;
  predicate: string | null;
}
interface ForeignKeyRow {
  name: string;
  table: string;
  columns: string;
  target: string;
  target_columns: string;
  on_update: string;
  on_delete: string;
}

/** The shape of the client's current schema, leaving out _prisma_migrations as Prisma does. */
export async function shapeOfDatabase(client: pg.Client): Promise<SchemaShape> {
  const tables = await client.query<{ table: string }>(
    `SELECT c.relname AS table FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE ${OWN_RELATION} AND c.relkind IN ('r', 'p', 'v', 'm', 'f')`,
  );
  const columns = await client.query<ColumnRow>(
    `SELECT c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type,
            a.attnotnull AS not_null, pg_get_expr(d.adbin, d.adrelid) AS fallback
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE ${OWN_RELATION} AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped`,
  );
  const indexes = await client.query<IndexRow>(
    `SELECT i.relname AS name, c.relname AS table, x.indisprimary AS primary, x.indisunique AS unique,
            am.amname AS method, pg_get_expr(x.indpred, x.indrelid) AS predicate,
            (SELECT string_agg(coalesce(a.attname::text, '<expression>')
                      || CASE WHEN x.indoption[(k.ord - 1)::int] & 1 = 1 THEN ' DESC' ELSE '' END, ', ' ORDER BY k.ord)
               FROM unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
               LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum) AS keys
       FROM pg_index x
       JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_am am ON am.oid = i.relam
       JOIN pg_class c ON c.oid = x.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE ${OWN_RELATION}`,
  );
  const foreignKeys = await client.query<ForeignKeyRow>(
    `SELECT con.conname AS name, c.relname AS table, t.relname AS target,
            ${keyColumns('con.conkey', 'con.conrelid')} AS columns,
            ${keyColumns('con.confkey', 'con.confrelid')} AS target_columns,
            con.confupdtype AS on_update, con.confdeltype AS on_delete
       FROM pg_constraint con
       JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_class t ON t.oid = con.confrelid
      WHERE ${OWN_RELATION} AND con.contype = 'f'`,
  );
  return sortShape({
    tables: tables.rows.map((row) => row.table),
    columns: columns.rows.map((row) => describeColumn(row.table, row.column, row.type, row.not_null, row.fallback)),
    indexes: indexes.rows.map((row) => {
      const kind = row.primary ? 'PRIMARY KEY' : row.unique ? 'UNIQUE' : 'INDEX';
      return describeIndex(row.name, kind, row.table, row.method, row.keys, row.predicate);
    }),
    foreignKeys: foreignKeys.rows.map((row) => {
      const onUpdate = PG_REFERENTIAL_ACTIONS[row.on_update] ?? row.on_update;
      const onDelete = PG_REFERENTIAL_ACTIONS[row.on_delete] ?? row.on_delete;
      return describeForeignKey(row.name, row.table, row.columns, row.target, row.target_columns, onUpdate, onDelete);
    }),
  });
}
