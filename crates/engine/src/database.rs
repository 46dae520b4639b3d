//! The customer table into PostgreSQL, for a CRM to `SELECT` grades from.
//!
//! One transaction does it all: a new table is created and filled with binary `COPY`, then
//! takes the place of the previous one, and the run is recorded in `clientele_runs`. Readers
//! see the old table until the commit and the new one after, never a half; a failure or an
//! interruption rolls everything back and leaves nothing behind. A table clientele did not
//! write (it marks its own with a comment) is never replaced.

use arrow::datatypes::DataType;
use clientele_core::{ColumnData, CustomerTable, Day};
use clientele_ingest::PgUrl;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{IsNull, ToSql, Type, to_sql_checked};

use crate::{Analysis, EngineError};

/// The comment that marks a table as clientele's own: only such a table is replaced.
const MARK: &str = "clientele customer table";
/// The same for the log of runs.
const RUNS_MARK: &str = "clientele runs";

/// Where the customer table goes: a server and a table name, checked at construction.
#[derive(Debug, Clone)]
pub struct PgSink {
    url: PgUrl,
    /// Schema, when the name has one.
    schema: Option<String>,
    /// Table name, as PostgreSQL stores it (unquoted names folded to lower case).
    table: String,
}

/// What [`write_to_postgres`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgWritten {
    /// The table, as SQL names it (`"public"."clientele_customers"`).
    pub table: String,
    /// Customer rows written.
    pub rows: u64,
    /// The run's id in `clientele_runs`.
    pub run_id: i64,
    /// Where it went (without password).
    pub url: String,
}

impl PgSink {
    /// A sink for `table` (`clientele_customers`, `crm.customers`, `"Kunden"`) on `url`.
    pub fn new(url: &str, table: &str) -> Result<PgSink, EngineError> {
        let url = PgUrl::parse(url)?;
        let parts = split_name(table).ok_or_else(|| {
            EngineError::InvalidConfig(format!(
                "[output] table `{table}` is not a table name: write name or schema.name \
                 (letters, digits and _, or \"Quoted\")"
            ))
        })?;
        let (schema, table) = match parts.as_slice() {
            [t] => (None, t.clone()),
            [s, t] => (Some(s.clone()), t.clone()),
            _ => {
                return Err(EngineError::InvalidConfig(format!(
                    "[output] table `{table}` has more than schema.name"
                )));
            }
        };
        Ok(PgSink { url, schema, table })
    }

    /// `"schema"."name"` of a table in the sink's schema.
    fn qualified(&self, name: &str) -> String {
        match &self.schema {
            Some(s) => format!("{}.{}", ident(s), ident(name)),
            None => ident(name),
        }
    }
}

/// Splits `schema.name` following SQL: unquoted parts are folded to lower case, `"Quoted"`
/// ones kept as written. `None` for an empty or malformed name.
fn split_name(s: &str) -> Option<Vec<String>> {
    let mut parts = Vec::new();
    let mut chars = s.trim().chars().peekable();
    loop {
        let mut part = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next()? {
                    '"' if chars.peek() == Some(&'"') => {
                        chars.next();
                        part.push('"');
                    }
                    '"' => break,
                    c => part.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == '.' {
                    break;
                }
                if !(c.is_alphanumeric() || c == '_' || c == '$') {
                    return None;
                }
                part.extend(c.to_lowercase());
                chars.next();
            }
            if part.starts_with(|c: char| c.is_ascii_digit() || c == '$') {
                return None;
            }
        }
        // PostgreSQL keeps 63 bytes of a name and silently cuts the rest: refuse instead
        if part.is_empty() || part.len() > 63 {
            return None;
        }
        parts.push(part);
        match chars.next() {
            None => return Some(parts),
            Some('.') => {}
            Some(_) => return None,
        }
    }
}

/// An SQL identifier, quoted.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A `date` as PostgreSQL reads it in binary: days since 2000-01-01.
#[derive(Debug)]
struct PgDate(i32);

impl ToSql for PgDate {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        out.extend_from_slice(&(self.0 - clientele_ingest::postgres::PG_EPOCH_DAYS).to_be_bytes());
        Ok(IsNull::No)
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::DATE
    }
    to_sql_checked!();
}

/// The PostgreSQL type of a customer-table column, by its Arrow type (as
/// `customers.parquet` stores it); `None` for a type the table never has.
fn sql_type(t: &DataType) -> Option<(&'static str, Type)> {
    match t {
        DataType::Int64 => Some(("bigint", Type::INT8)),
        DataType::Float64 => Some(("double precision", Type::FLOAT8)),
        DataType::Utf8 => Some(("text", Type::TEXT)),
        DataType::Date32 => Some(("date", Type::DATE)),
        _ => None,
    }
}

/// Writes the analysis's customer table (every grade, CLV and stage column) to the sink's
/// table, replacing clientele's previous one in one transaction, and records the run.
pub fn write_to_postgres(a: &Analysis, sink: &PgSink) -> Result<PgWritten, EngineError> {
    write_rows(a, sink, SinkRows::Table(&a.customers))
}

/// [`write_to_postgres`] for a table built part by part on disk: the parts are merged by
/// customer id straight into the binary COPY, so the table is never held in memory.
pub fn write_to_postgres_spilled(
    a: &Analysis,
    table: &crate::SpilledTable,
    sink: &PgSink,
) -> Result<PgWritten, EngineError> {
    write_rows(a, sink, SinkRows::Spilled(table))
}

/// The rows the sink copies.
#[derive(Clone, Copy)]
enum SinkRows<'a> {
    /// The analysis's table, in memory.
    Table(&'a CustomerTable),
    /// A table built part by part on disk.
    Spilled(&'a crate::SpilledTable),
}

impl SinkRows<'_> {
    /// The columns after `customer_id`: name, SQL type, binary COPY type.
    fn columns(&self) -> Result<Vec<(String, &'static str, Type)>, EngineError> {
        let fields: Vec<(String, DataType)> = match self {
            SinkRows::Table(t) => crate::output::arrow_schema(t)
                .fields()
                .iter()
                .skip(1)
                .map(|f| (f.name().clone(), f.data_type().clone()))
                .collect(),
            SinkRows::Spilled(t) => t
                .schema
                .fields()
                .iter()
                .skip(1)
                .map(|f| (f.name().clone(), f.data_type().clone()))
                .collect(),
        };
        fields
            .into_iter()
            .map(|(name, dt)| {
                let (sql, ty) = sql_type(&dt).ok_or_else(|| {
                    EngineError::Internal(format!("column {name} of the customer table is {dt}"))
                })?;
                Ok((name, sql, ty))
            })
            .collect()
    }

    fn customers(&self) -> usize {
        match self {
            SinkRows::Table(t) => t.len(),
            SinkRows::Spilled(t) => t.customers(),
        }
    }
}

fn write_rows(a: &Analysis, sink: &PgSink, t: SinkRows<'_>) -> Result<PgWritten, EngineError> {
    let url = &sink.url;
    let target = sink.qualified(&sink.table);
    let err = |e: postgres::Error, doing: &str| -> EngineError {
        url.error(&e, &format!("{doing} {target}")).into()
    };
    let refuse = |reason: String| -> EngineError {
        clientele_ingest::IngestError::Postgres {
            at: format!("{} table {target}", url.shown()),
            reason,
        }
        .into()
    };
    let mut client = url.connect()?;
    let mut tx = client.transaction().map_err(|e| err(e, "writing"))?;
    // Refuse to replace what clientele did not write, before any work.
    for (name, mark, what) in [
        (target.clone(), MARK, "[output] table"),
        (sink.qualified("clientele_runs"), RUNS_MARK, "the runs log"),
    ] {
        let row = tx
            .query_one(
                "SELECT to_regclass($1)::oid, obj_description(to_regclass($1), 'pg_class')",
                &[&name],
            )
            .map_err(|e| err(e, "looking up"))?;
        let (oid, comment): (Option<u32>, Option<String>) = (row.get(0), row.get(1));
        if oid.is_some() && !comment.as_deref().unwrap_or_default().starts_with(mark) {
            return Err(refuse(format!(
                "{name} exists and clientele did not write it, so it is not replaced: choose \
                 another {what} name, or drop or rename that table yourself"
            )));
        }
    }
    let staging_name = format!("clientele_load_{}", std::process::id());
    let staging = sink.qualified(&staging_name);
    let mut cols = vec![format!(
        "{} text NOT NULL",
        ident(clientele_core::columns::CUSTOMER_ID)
    )];
    let mut types = vec![Type::TEXT];
    for (name, sql, ty) in t.columns()? {
        cols.push(format!("{} {sql}", ident(&name)));
        types.push(ty);
    }
    tx.batch_execute(&format!("CREATE TABLE {staging} ({})", cols.join(", ")))
        .map_err(|e| err(e, "creating the new"))?;
    let rows = match t {
        SinkRows::Table(t) => copy_rows(&mut tx, &staging, t, &types, &|e| err(e, "loading"))?,
        SinkRows::Spilled(t) => copy_spilled(&mut tx, &staging, t, &types, &|e| err(e, "loading"))?,
    };
    let as_of = a.summary.as_of;
    let comment = format!(
        "{MARK}: as of {as_of}, config {}, {} customers",
        a.summary.config_hash,
        t.customers()
    );
    let runs = sink.qualified("clientele_runs");
    let pkey = format!("{}_pkey", sink.table);
    let setup = format!(
        "ALTER TABLE {staging} ADD CONSTRAINT {} PRIMARY KEY ({});
         COMMENT ON TABLE {staging} IS {};
         CREATE TABLE IF NOT EXISTS {runs} (
             run_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
             written_at timestamptz NOT NULL DEFAULT now(),
             table_name text NOT NULL,
             as_of date NOT NULL,
             config_hash text NOT NULL,
             customers bigint NOT NULL,
             rows_read bigint NOT NULL,
             rows_accepted bigint NOT NULL,
             rows_rejected bigint NOT NULL,
             clientele_version text NOT NULL,
             summary jsonb NOT NULL);
         COMMENT ON TABLE {runs} IS {};
         DROP TABLE IF EXISTS {target};
         ALTER TABLE {staging} RENAME TO {};",
        ident(&format!("{staging_name}_pkey")),
        ident(clientele_core::columns::CUSTOMER_ID),
        literal(&comment),
        literal(&format!("{RUNS_MARK}: one row per customer table written")),
        ident(&sink.table),
    );
    tx.batch_execute(&setup).map_err(|e| err(e, "replacing"))?;
    tx.batch_execute(&format!(
        "ALTER INDEX {} RENAME TO {}",
        sink.qualified(&format!("{staging_name}_pkey")),
        ident(&pkey)
    ))
    .map_err(|e| err(e, "naming the key of"))?;
    let summary = serde_json::to_string(&a.summary).map_err(|e| EngineError::Output {
        path: target.clone().into(),
        reason: e.to_string(),
    })?;
    let i = &a.summary.inputs;
    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let run_id: i64 = tx
        .query_one(
            &format!(
                "INSERT INTO {runs} (table_name, as_of, config_hash, customers, rows_read, \
                 rows_accepted, rows_rejected, clientele_version, summary) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::text::jsonb) RETURNING run_id"
            ),
            &[
                &target,
                &PgDate(as_of.0),
                &a.summary.config_hash,
                &count(rows),
                &count(i.read),
                &count(i.accepted),
                &count(i.rejected),
                &a.summary.tool,
                &summary,
            ],
        )
        .map_err(|e| err(e, "recording the run of"))?
        .get(0);
    tx.commit().map_err(|e| err(e, "committing"))?;
    Ok(PgWritten {
        table: target,
        rows,
        run_id,
        url: url.shown().to_string(),
    })
}

/// A string as an SQL literal.
fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// One value of a row being copied; the column types are set by [`sql_type`].
#[derive(Debug)]
enum Cell<'a> {
    Text(Option<&'a str>),
    Int(Option<i64>),
    Float(Option<f64>),
    Date(Option<Day>),
}

impl ToSql for Cell<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Cell::Text(Some(s)) => s.to_sql(ty, out),
            Cell::Int(Some(v)) => v.to_sql(ty, out),
            Cell::Float(Some(v)) => v.to_sql(ty, out),
            Cell::Date(Some(d)) => PgDate(d.0).to_sql(ty, out),
            Cell::Text(None) | Cell::Int(None) | Cell::Float(None) | Cell::Date(None) => {
                Ok(IsNull::Yes)
            }
        }
    }
    fn accepts(_: &Type) -> bool {
        true
    }
    to_sql_checked!();
}

/// Every customer row into `table` with binary COPY; the rows written.
fn copy_rows(
    tx: &mut postgres::Transaction<'_>,
    table: &str,
    t: &CustomerTable,
    types: &[Type],
    pg: &dyn Fn(postgres::Error) -> EngineError,
) -> Result<u64, EngineError> {
    if !t.is_stored() {
        return copy_slice(tx, table, t, types).map_err(pg);
    }
    // a table kept on disk is copied a million rows at a time, each in a COPY of its own
    let mut rows = 0;
    for start in (0..t.len()).step_by(1 << 20) {
        let slice = t.slice_rows(start..(start + (1 << 20)).min(t.len()))?;
        rows += copy_slice(tx, table, &slice, types).map_err(pg)?;
    }
    Ok(rows)
}

/// Every row of `t` (in memory) into `table` with one binary COPY.
fn copy_slice(
    tx: &mut postgres::Transaction<'_>,
    table: &str,
    t: &CustomerTable,
    types: &[Type],
) -> Result<u64, postgres::Error> {
    let writer = tx.copy_in(&format!("COPY {table} FROM STDIN (FORMAT binary)"))?;
    let mut w = BinaryCopyInWriter::new(writer, types);
    let ids = t.ids();
    let mut row: Vec<Cell<'_>> = Vec::with_capacity(types.len());
    for i in 0..t.len() {
        row.clear();
        row.push(Cell::Text(Some(ids.get(i))));
        for c in t.columns() {
            row.push(match &c.data {
                ColumnData::Int(v) => Cell::Int(v.get(i)),
                ColumnData::Float(v) => Cell::Float(v.get(i)),
                ColumnData::Text(v) => Cell::Text(v.get(i)),
                ColumnData::Date(v) => Cell::Date(v.get(i)),
            });
        }
        w.write_raw(row.iter())?;
    }
    w.finish()
}

/// Every row of a spilled table, merged by customer id, into `table` with binary COPY.
fn copy_spilled(
    tx: &mut postgres::Transaction<'_>,
    table: &str,
    t: &crate::SpilledTable,
    types: &[Type],
    err: &dyn Fn(postgres::Error) -> EngineError,
) -> Result<u64, EngineError> {
    let writer = tx
        .copy_in(&format!("COPY {table} FROM STDIN (FORMAT binary)"))
        .map_err(err)?;
    let mut w = BinaryCopyInWriter::new(writer, types);
    t.merged(|b| {
        let mut row: Vec<Cell<'_>> = Vec::with_capacity(types.len());
        let cols: Vec<ArrowColumn<'_>> = b.columns().iter().map(ArrowColumn::of).collect();
        for i in 0..b.num_rows() {
            row.clear();
            row.extend(cols.iter().map(|c| c.cell(i)));
            w.write_raw(row.iter()).map_err(err)?;
        }
        Ok(())
    })?;
    w.finish().map_err(err)
}

/// A column of a spilled table's batch, by its type.
enum ArrowColumn<'a> {
    Text(&'a arrow::array::StringArray),
    Int(&'a arrow::array::Int64Array),
    Float(&'a arrow::array::Float64Array),
    Date(&'a arrow::array::Date32Array),
    /// A type the sink does not write (refused by [`SinkRows::columns`] first).
    Other,
}

impl<'a> ArrowColumn<'a> {
    fn of(c: &'a arrow::array::ArrayRef) -> ArrowColumn<'a> {
        use arrow::array::AsArray;
        use arrow::datatypes::{Date32Type, Float64Type, Int64Type};
        match c.data_type() {
            DataType::Utf8 => ArrowColumn::Text(c.as_string::<i32>()),
            DataType::Int64 => ArrowColumn::Int(c.as_primitive::<Int64Type>()),
            DataType::Float64 => ArrowColumn::Float(c.as_primitive::<Float64Type>()),
            DataType::Date32 => ArrowColumn::Date(c.as_primitive::<Date32Type>()),
            _ => ArrowColumn::Other,
        }
    }

    fn cell(&self, i: usize) -> Cell<'a> {
        use arrow::array::Array;
        match self {
            ArrowColumn::Text(a) => Cell::Text(a.is_valid(i).then(|| a.value(i))),
            ArrowColumn::Int(a) => Cell::Int(a.is_valid(i).then(|| a.value(i))),
            ArrowColumn::Float(a) => Cell::Float(a.is_valid(i).then(|| a.value(i))),
            ArrowColumn::Date(a) => Cell::Date(a.is_valid(i).then(|| Day(a.value(i)))),
            ArrowColumn::Other => Cell::Text(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_follow_sql_folding_and_quoting() {
        assert_eq!(
            split_name("Clientele_Customers").unwrap(),
            ["clientele_customers"]
        );
        assert_eq!(split_name("crm.\"Kunden\"").unwrap(), ["crm", "Kunden"]);
        assert_eq!(split_name("\"a\"\"b\"").unwrap(), ["a\"b"]);
        assert_eq!(split_name("客户").unwrap(), ["客户"]);
        for bad in [
            "",
            "a.",
            ".a",
            "a b",
            "1abc",
            "a;drop",
            "\"open",
            &"x".repeat(64),
        ] {
            assert!(split_name(bad).is_none(), "{bad}");
        }
    }
}
