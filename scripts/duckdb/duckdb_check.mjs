// duckdb_check.mjs reads a Parquet file with DuckDB (npm @duckdb/node-api,
// the engine Embedding Atlas runs on), so our exports are checked by a
// reader we did not write. It prints one JSON object: the row count, the
// columns with DuckDB's types, and the first rows (ordered by id); with
// --rows N and --columns name:TYPE,... it also checks them and exits 1,
// saying what differs.
//
//   node scripts/duckdb/duckdb_check.mjs FILE [--rows N] [--columns id:BIGINT,...] [--sample K]
//
// scripts/install-deps.sh installs the package into scripts/duckdb/node_modules.
import { DuckDBInstance } from '@duckdb/node-api';

const args = process.argv.slice(2);
if (args.length < 1) {
  console.error('usage: duckdb_check.mjs FILE [--rows N] [--columns name:TYPE,...] [--sample K]');
  process.exit(2);
}
const file = args[0];
const opt = {};
for (let i = 1; i < args.length; i += 2) {
  opt[args[i].replace(/^--/, '')] = args[i + 1];
}
const sample = Number(opt.sample ?? 3);

const quoted = "'" + file.replaceAll("'", "''") + "'";
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
const count = await con.runAndReadAll(`SELECT count(*)::BIGINT AS n FROM read_parquet(${quoted})`);
const rows = Number(count.getRowObjectsJson()[0].n);
const desc = await con.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${quoted})`);
const columns = desc.getRowObjectsJson().map((r) => ({ name: r.column_name, type: r.column_type }));
const first = await con.runAndReadAll(`SELECT * FROM read_parquet(${quoted}) ORDER BY id LIMIT ${sample}`);
const out = { file, rows, columns, sample: first.getRowObjectsJson() };
console.log(JSON.stringify(out));

const problems = [];
if (opt.rows !== undefined && Number(opt.rows) !== rows) {
  problems.push(`${rows} rows, want ${opt.rows}`);
}
if (opt.columns !== undefined) {
  const want = opt.columns.split(',').map((c) => {
    const k = c.indexOf(':');
    return { name: c.slice(0, k), type: c.slice(k + 1) };
  });
  const got = columns.map((c) => `${c.name}:${c.type}`).join(',');
  if (got !== want.map((c) => `${c.name}:${c.type}`).join(',')) {
    problems.push(`columns ${got}, want ${opt.columns}`);
  }
}
if (problems.length > 0) {
  console.error(`duckdb_check: ${file}: ${problems.join('; ')}`);
  process.exit(1);
}
