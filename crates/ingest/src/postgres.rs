//! Transactions from a PostgreSQL table or query, and connecting the way libpq does.
//!
//! Rows are streamed with binary `COPY (SELECT …) TO STDOUT`: only the mapped columns, in
//! batches turned into Arrow arrays and validated by the same code as a Parquet file, so a
//! table gives the customer table its export would. Memory follows customers, not rows.
//!
//! Connection settings follow libpq: a URL (`postgresql://user@host:5432/db`) or key=value
//! string, with `PGHOST`, `PGPORT`, `PGUSER` and `PGDATABASE` filling what it leaves out. The
//! password never comes from the URL (it would be written into the run's config): it comes
//! from `CLIENTELE_PG_PASSWORD`, `PGPASSWORD` or the password file (`PGPASSFILE`, else
//! `~/.pgpass`), and is never printed. TLS as libpq: `sslmode` and `sslrootcert` ([`tls`]).

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use arrow::array::{
    ArrayRef, Date32Builder, Float64Builder, Int64Builder, RecordBatch, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema};
use postgres::config::Host;
use postgres::error::SqlState;
use postgres::types::Type;
use postgres::{Client, NoTls};

mod tls;

use crate::reader::{ParquetCtx, Sink, resolve};
use crate::{ColumnMapping, IngestError, Progress};

/// Days from 1970-01-01 (Arrow's and [`clientele_core::Day`]'s epoch) to 2000-01-01
/// (PostgreSQL's), for dates in binary COPY both ways.
pub const PG_EPOCH_DAYS: i32 = 10_957;
/// The same in microseconds.
const PG_EPOCH_MICROS: i64 = PG_EPOCH_DAYS as i64 * 86_400_000_000;
/// Rows per Arrow batch.
const BATCH_ROWS: usize = 64 * 1024;

/// Where a PostgreSQL server is and who connects: parsed and completed from the environment
/// at construction, so a bad URL is refused before any work. Shown (and `Debug`-printed)
/// without the password.
#[derive(Clone)]
pub struct PgUrl {
    config: postgres::Config,
    shown: String,
    /// Where the password came from, for the advice when it is refused.
    password_from: PasswordFrom,
    /// libpq's sslmode, and the TLS client for it (none with `disable`).
    ssl_mode: tls::SslMode,
    tls: Option<rustls::ClientConfig>,
}

/// The source of the password that was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PasswordFrom {
    None,
    Env(&'static str),
    File(PathBuf),
    /// A password file exists but others can read it, so libpq (and this) ignore it.
    FileIgnored(PathBuf),
}

impl fmt::Debug for PgUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PgUrl").field(&self.shown).finish()
    }
}

impl fmt::Display for PgUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

impl PgUrl {
    /// A URL or key=value connection string, completed from the process environment.
    pub fn parse(url: &str) -> Result<PgUrl, IngestError> {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        PgUrl::parse_with(url, &|k| std::env::var(k).ok(), home.as_deref())
    }

    /// [`PgUrl::parse`] with the environment given (for tests).
    fn parse_with(
        url: &str,
        env: &dyn Fn(&str) -> Option<String>,
        home: Option<&Path>,
    ) -> Result<PgUrl, IngestError> {
        let refuse = |reason: String| IngestError::Postgres {
            at: redact(url),
            reason,
        };
        // the driver knows neither verify-ca/verify-full nor a root file: those are ours
        let params = tls::take_params(url.trim());
        let mut config = postgres::Config::from_str(&params.rest).map_err(|e| {
            refuse(format!(
                "not a PostgreSQL connection string ({e}): write it as \
                 postgresql://user@host:5432/database"
            ))
        })?;
        if config.get_password().is_some() {
            return Err(refuse(
                "the URL holds a password, which would be written into the run's config and \
                 logs: remove it and set PGPASSWORD or CLIENTELE_PG_PASSWORD, or add a line to \
                 ~/.pgpass"
                    .into(),
            ));
        }
        let tls = tls::settings(&params, env, home).map_err(&refuse)?;
        config.ssl_mode(tls.mode.driver());
        if config.get_hosts().is_empty() {
            match env("PGHOST").filter(|h| !h.is_empty()) {
                Some(h) if h.starts_with('/') => {
                    config.host_path(h);
                }
                Some(h) => {
                    config.host(&h);
                }
                // libpq's default on Debian: the local server's socket folder when there is one
                None if Path::new("/var/run/postgresql").is_dir() => {
                    config.host_path("/var/run/postgresql");
                }
                None => {
                    config.host("localhost");
                }
            }
        }
        if config.get_ports().is_empty()
            && let Some(p) = env("PGPORT").filter(|p| !p.is_empty())
        {
            let port = p
                .parse::<u16>()
                .map_err(|_| refuse(format!("PGPORT `{p}` is not a port number")))?;
            config.port(port);
        }
        if config.get_user().is_none() {
            let user = env("PGUSER")
                .or_else(|| env("USER"))
                .filter(|u| !u.is_empty())
                .ok_or_else(|| {
                    refuse("no user: write postgresql://USER@host/database or set PGUSER".into())
                })?;
            config.user(&user);
        }
        if config.get_dbname().is_none()
            && let Some(db) = env("PGDATABASE").filter(|d| !d.is_empty())
        {
            config.dbname(&db);
        }
        if config.get_connect_timeout().is_none() {
            let secs = env("PGCONNECT_TIMEOUT")
                .and_then(|s| s.parse::<u64>().ok())
                .filter(|&s| s > 0)
                .unwrap_or(10);
            config.connect_timeout(Duration::from_secs(secs));
        }
        if config.get_application_name().is_none() {
            config.application_name("clientele");
        }
        let user = config.get_user().unwrap_or_default().to_string();
        let db = config.get_dbname().unwrap_or(&user).to_string();
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let host = match config.get_hosts().first() {
            Some(Host::Tcp(h)) => h.clone(),
            Some(Host::Unix(p)) => p.display().to_string(),
            None => "localhost".into(),
        };
        let shown = if host.starts_with('/') {
            format!("postgresql://{user}@/{db}?host={host}&port={port}")
        } else {
            format!("postgresql://{user}@{host}:{port}/{db}")
        };
        let mut password_from = PasswordFrom::None;
        for var in ["CLIENTELE_PG_PASSWORD", "PGPASSWORD"] {
            if let Some(p) = env(var).filter(|p| !p.is_empty()) {
                config.password(p);
                password_from = PasswordFrom::Env(var);
                break;
            }
        }
        if password_from == PasswordFrom::None {
            let file = env("PGPASSFILE")
                .map(PathBuf::from)
                .or_else(|| home.map(|h| h.join(".pgpass")));
            if let Some(file) = file.filter(|f| f.is_file()) {
                // a Unix socket matches the `localhost` lines, as in libpq
                let match_host = if host.starts_with('/') {
                    "localhost"
                } else {
                    &host
                };
                if readable_by_others(&file) {
                    password_from = PasswordFrom::FileIgnored(file);
                } else if let Ok(text) = std::fs::read_to_string(&file)
                    && let Some(p) = pgpass_lookup(&text, match_host, port, &db, &user)
                {
                    config.password(p);
                    password_from = PasswordFrom::File(file);
                }
            }
        }
        Ok(PgUrl {
            config,
            shown,
            password_from,
            ssl_mode: tls.mode,
            tls: tls.client,
        })
    }

    /// The URL without the password, for messages and the run's record.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// The user it connects as.
    pub fn user(&self) -> &str {
        self.config.get_user().unwrap_or_default()
    }

    /// Opens a connection; any failure is one line naming the server, database and fix.
    pub fn connect(&self) -> Result<Client, IngestError> {
        let connected = match &self.tls {
            Some(client) => self
                .config
                .connect(tokio_postgres_rustls::MakeRustlsConnect::new(
                    client.clone(),
                )),
            None => self.config.connect(NoTls),
        };
        connected.map_err(|e| self.error(&e, "connecting"))
    }

    /// One clear line for a client or server error met while `doing` something.
    pub fn error(&self, e: &postgres::Error, doing: &str) -> IngestError {
        let user = self.user();
        let reason = match e.as_db_error() {
            Some(db) => {
                let msg = db.message();
                let code = db.code();
                if *code == SqlState::INVALID_PASSWORD {
                    let from = match &self.password_from {
                        PasswordFrom::None => "no password was found".to_string(),
                        PasswordFrom::Env(v) => format!("the password came from {v}"),
                        PasswordFrom::File(f) => format!("the password came from {}", f.display()),
                        PasswordFrom::FileIgnored(f) => format!(
                            "{} was ignored because others can read it (chmod 600 it)",
                            f.display()
                        ),
                    };
                    format!(
                        "password authentication failed for user `{user}` ({from}): set the \
                         right one in PGPASSWORD, CLIENTELE_PG_PASSWORD or ~/.pgpass"
                    )
                } else if *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
                    && msg.contains("certificate authentication failed")
                {
                    format!(
                        "the server did not accept the client certificate for user `{user}` \
                         ({msg}): its common name (CN) must be the user's name, or be mapped to \
                         it in the server's pg_ident.conf"
                    )
                } else if *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
                    && msg.contains("certificate")
                {
                    format!(
                        "the server asks user `{user}` for a client certificate ({msg}): give it \
                         with sslcert=/path/to/client.crt and sslkey=/path/to/client.key (or \
                         PGSSLCERT and PGSSLKEY, or ~/.postgresql/postgresql.crt and .key)"
                    )
                } else if *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION {
                    format!("the server refuses user `{user}`: {msg} (see its pg_hba.conf)")
                } else if *code == SqlState::INVALID_CATALOG_NAME {
                    format!("{msg}: check the database name at the end of the URL")
                } else if *code == SqlState::UNDEFINED_TABLE {
                    format!("{msg}: check the table name (schema.table) or the query")
                } else if *code == SqlState::UNDEFINED_COLUMN {
                    format!("{msg}: check the column names in the query")
                } else if *code == SqlState::INSUFFICIENT_PRIVILEGE {
                    format!("{msg}: user `{user}` needs to be granted access to it")
                } else if *code == SqlState::READ_ONLY_SQL_TRANSACTION {
                    format!("{msg}: the query of a source may only read")
                } else if *code == SqlState::DEPENDENT_OBJECTS_STILL_EXIST {
                    let detail = db.detail().map(|d| format!(" ({})", d.replace('\n', "; ")));
                    format!(
                        "{msg}{}: clientele replaces its table whole on each run, so views on it \
                         must be dropped before and created again after (or read a table of your \
                         own filled from it)",
                        detail.unwrap_or_default()
                    )
                } else if *code == SqlState::SYNTAX_ERROR {
                    let at = db
                        .position()
                        .map(|p| match p {
                            postgres::error::ErrorPosition::Original(n) => {
                                format!(" at character {n}")
                            }
                            postgres::error::ErrorPosition::Internal { position, .. } => {
                                format!(" at character {position}")
                            }
                        })
                        .unwrap_or_default();
                    format!("SQL syntax error{at}: {msg}")
                } else {
                    format!("{msg} (SQLSTATE {})", code.code())
                }
            }
            None => {
                let text = e.to_string();
                let cause = std::error::Error::source(e)
                    .map(|s| s.to_string())
                    .unwrap_or_default();
                if text.contains("password missing") || cause.contains("password missing") {
                    format!(
                        "the server asks for a password for user `{user}` and none was found: \
                         set PGPASSWORD or CLIENTELE_PG_PASSWORD, or add a line to ~/.pgpass{}",
                        match &self.password_from {
                            PasswordFrom::FileIgnored(f) => format!(
                                " ({} was ignored because others can read it: chmod 600 it)",
                                f.display()
                            ),
                            _ => String::new(),
                        }
                    )
                } else if let Some(tls) = tls_failure(&text, &cause, self.ssl_mode) {
                    tls
                } else if text.contains("error connecting")
                    || text.contains("timeout")
                    || cause.contains("refused")
                {
                    let why = if cause.is_empty() { text } else { cause };
                    format!(
                        "cannot connect ({why}): is the server running there and accepting \
                         connections (listen_addresses, port, pg_hba.conf)?"
                    )
                } else if cause.is_empty() {
                    text
                } else {
                    format!("{text}: {cause}")
                }
            }
        };
        IngestError::Postgres {
            at: format!("{} ({doing})", self.shown),
            reason,
        }
    }
}

/// One line for a TLS failure: the server offers none, or its certificate is not accepted.
fn tls_failure(text: &str, cause: &str, mode: tls::SslMode) -> Option<String> {
    let both = format!("{text} {cause}");
    if both.contains("server does not support TLS") {
        return Some(format!(
            "the server does not offer TLS and sslmode={} asks for it: turn on ssl in its \
             postgresql.conf, or connect with sslmode=prefer or disable over a trusted network",
            mode.name()
        ));
    }
    if both.contains("received fatal alert") {
        return Some(format!(
            "the server ended the TLS handshake ({}): a client certificate (sslcert, sslkey) \
             must be signed by a CA in the server's ssl_ca_file, and not expired",
            if cause.is_empty() { text } else { cause }
        ));
    }
    let certificate = [
        "certificate",
        "UnknownIssuer",
        "NotValidForName",
        "BadSignature",
    ];
    certificate.iter().any(|w| both.contains(w)).then(|| {
        format!(
            "the server's TLS certificate was not accepted under sslmode={} ({}): give the CA \
             that signed it with sslrootcert=/path/to/ca.pem (or PGSSLROOTCERT), and with \
             verify-full connect by a host name the certificate holds",
            mode.name(),
            if cause.is_empty() { text } else { cause }
        )
    })
}

/// True when group or others may read `file`: such a password file is ignored.
#[cfg(unix)]
fn readable_by_others(file: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(file).is_ok_and(|m| m.permissions().mode() & 0o077 != 0)
}

#[cfg(not(unix))]
fn readable_by_others(_: &Path) -> bool {
    false
}

/// The password of the first `host:port:database:user:password` line that matches (`*`
/// matches anything; `\:` and `\\` escape), as libpq reads `~/.pgpass`.
fn pgpass_lookup(text: &str, host: &str, port: u16, db: &str, user: &str) -> Option<String> {
    let port = port.to_string();
    for line in text.lines() {
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let mut fields = Vec::with_capacity(5);
        let mut cur = String::new();
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    if let Some(n) = chars.next() {
                        cur.push(n);
                    }
                }
                ':' if fields.len() < 4 => fields.push(std::mem::take(&mut cur)),
                c => cur.push(c),
            }
        }
        fields.push(cur);
        if fields.len() != 5 {
            continue;
        }
        let ok = |pat: &str, v: &str| pat == "*" || pat == v;
        if ok(&fields[0], host)
            && ok(&fields[1], &port)
            && ok(&fields[2], db)
            && ok(&fields[3], user)
        {
            return Some(fields.swap_remove(4));
        }
    }
    None
}

/// A connection string with any password replaced, for a message about the string itself.
fn redact(url: &str) -> String {
    let url = url.trim();
    // URL form: scheme://user:password@host
    if let Some(rest) = url
        .strip_prefix("postgresql://")
        .or_else(|| url.strip_prefix("postgres://"))
        && let Some(at) = rest.find('@')
        && let Some(colon) = rest[..at].find(':')
    {
        let scheme = &url[..url.len() - rest.len()];
        return format!("{scheme}{}:***{}", &rest[..colon], &rest[at..]);
    }
    // key=value form
    url.split_whitespace()
        .map(|kv| {
            if kv.to_ascii_lowercase().starts_with("password=") {
                "password=***"
            } else {
                kv
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// What rows to read: a table (or view) by name, or any `SELECT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PgRelation {
    /// A table or view, as SQL writes it: `orders`, `sales.orders`, `"Orders"`.
    Table(String),
    /// A query returning one row per transaction line.
    Query(String),
}

/// A PostgreSQL source of transactions.
#[derive(Debug, Clone)]
pub struct PgSource {
    /// The server.
    pub url: PgUrl,
    /// The table or query.
    pub relation: PgRelation,
}

impl PgSource {
    /// How rejects and messages name the source: `postgresql://u@h:5432/db table orders`.
    pub fn describe(&self) -> String {
        match &self.relation {
            PgRelation::Table(t) => format!("{} table {t}", self.url.shown()),
            PgRelation::Query(_) => format!("{} query", self.url.shown()),
        }
    }
}

/// How one selected column travels: its SQL cast and the Arrow array it fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wire {
    Int,
    Float,
    Date,
    Timestamp,
    Text,
}

impl Wire {
    /// Whole numbers, floats, dates and timestamps travel as themselves; everything else
    /// (numeric, money, uuid, text) as its exact text, which validation reads as a file's.
    fn of(t: &Type) -> Wire {
        match *t {
            Type::INT2 | Type::INT4 | Type::INT8 => Wire::Int,
            Type::FLOAT4 | Type::FLOAT8 => Wire::Float,
            Type::DATE => Wire::Date,
            // a timestamptz is read in the session's time zone (the server's `timezone`)
            Type::TIMESTAMP | Type::TIMESTAMPTZ => Wire::Timestamp,
            _ => Wire::Text,
        }
    }

    fn cast(self) -> &'static str {
        match self {
            Wire::Int => "int8",
            Wire::Float => "float8",
            Wire::Date => "date",
            Wire::Timestamp => "timestamp",
            Wire::Text => "text",
        }
    }
}

/// An SQL identifier, quoted.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Reads the source's rows into `sink`, as [`crate::load`] reads a file.
pub(crate) fn read(
    src: &PgSource,
    mapping: &ColumnMapping,
    sink: &mut Sink,
    progress: &dyn Progress,
) -> Result<(), IngestError> {
    let desc = src.describe();
    let at = PathBuf::from(&desc);
    let url = &src.url;
    let mut client = url.connect()?;
    let err = |e: postgres::Error, doing: &str| url.error(&e, doing);
    // the same row order on every read of an unchanged table (reject positions included), and
    // a read that cannot change anything, whatever the query
    client
        .batch_execute("SET synchronize_seqscans = off; SET default_transaction_read_only = on")
        .map_err(|e| err(e, "setting up"))?;
    let (base, key_cols) = match &src.relation {
        PgRelation::Table(name) => {
            let oid: Option<u32> = client
                .query_one("SELECT to_regclass($1)::oid", &[name])
                .map_err(|e| err(e, &format!("looking up table {name}")))?
                .get(0);
            let Some(oid) = oid else {
                return Err(IngestError::Postgres {
                    at: desc,
                    reason: format!(
                        "table `{name}` does not exist (or is not on the search_path): check \
                         `table` in [source], as schema.table if it is in another schema"
                    ),
                });
            };
            let quoted: String = client
                .query_one("SELECT $1::oid::regclass::text", &[&oid])
                .map_err(|e| err(e, "naming the table"))?
                .get(0);
            let keys: Vec<String> = client
                .query(
                    "SELECT a.attname::text FROM pg_index i \
                     JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
                     WHERE i.indrelid = $1 AND i.indisprimary \
                     ORDER BY array_position(i.indkey, a.attnum)",
                    &[&oid],
                )
                .map_err(|e| err(e, "reading the primary key"))?
                .iter()
                .map(|r| r.get(0))
                .collect();
            (format!("SELECT * FROM {quoted}"), keys)
        }
        PgRelation::Query(q) => {
            let q = q.trim().trim_end_matches(';').trim_end();
            if q.is_empty() {
                return Err(IngestError::Postgres {
                    at: desc,
                    reason: "the query is empty: write a SELECT returning one row per \
                             transaction line"
                        .into(),
                });
            }
            (q.to_string(), Vec::new())
        }
    };
    let stmt = client
        .prepare(&base)
        .map_err(|e| err(e, "preparing the read"))?;
    if !stmt.params().is_empty() {
        return Err(IngestError::Postgres {
            at: desc,
            reason: "the query has parameters ($1 …): write the values into it".into(),
        });
    }
    let header: Vec<String> = stmt
        .columns()
        .iter()
        .map(|c| c.name().to_string())
        .collect();
    let types: Vec<Type> = stmt.columns().iter().map(|c| c.type_().clone()).collect();
    let pos = resolve(&at, &header, mapping)?;
    sink.note_hints(&pos);
    // only the mapped columns travel, each once, in the order of the source
    let mut used: Vec<usize> = [pos.customer_id, pos.order_date, pos.amount]
        .into_iter()
        .chain(
            [
                pos.order_id,
                pos.category,
                pos.profit,
                pos.cost,
                pos.quantity,
            ]
            .into_iter()
            .flatten(),
        )
        .collect();
    used.sort_unstable();
    used.dedup();
    let mut names: Vec<String> = used.iter().map(|&i| header[i].clone()).collect();
    let mut wires: Vec<Wire> = used.iter().map(|&i| Wire::of(&types[i])).collect();
    let mut exprs: Vec<String> = used
        .iter()
        .zip(&wires)
        .map(|(&i, w)| format!("q.{}::{}", ident(&header[i]), w.cast()))
        .collect();
    // the primary key names a rejected row (`order_id=1042`): its columns travel as they are
    // and are written out only for a reject
    let mut keys: Vec<(String, usize)> = Vec::new();
    for k in &key_cols {
        let Some(i) = header.iter().position(|h| h == k) else {
            continue;
        };
        let wire = Wire::of(&types[i]);
        exprs.push(format!("q.{}::{}", ident(k), wire.cast()));
        names.push(format!(" clientele key {k}"));
        wires.push(wire);
        keys.push((k.clone(), names.len() - 1));
    }
    let pos = resolve(&at, &names, mapping)?;
    let copy = format!(
        "COPY (SELECT {} FROM ({base}) AS q) TO STDOUT (FORMAT binary)",
        exprs.join(", ")
    );
    progress.start(&crate::progress::reading(&desc), None);
    let reader = client
        .copy_out(copy.as_str())
        .map_err(|e| err(e, "starting the read"))?;
    let mut rows = CopyRows::new(reader);
    let mut failed: Option<IngestError> = None;
    let mut ended = false;
    let batches = std::iter::from_fn(|| {
        if failed.is_some() || ended {
            return None;
        }
        let mut cols: Vec<Builder> = wires.iter().map(|w| Builder::new(*w)).collect();
        let mut n = 0;
        let mut bytes = 0u64;
        let mut row = |cols: &mut [Builder]| -> Result<bool, CopyError> {
            let Some(fields) = rows.next_row()? else {
                return Ok(false);
            };
            if fields != cols.len() {
                return Err(CopyError::Format(format!(
                    "a row of {fields} fields, {} expected",
                    cols.len()
                )));
            }
            for c in cols.iter_mut() {
                bytes += c.push(rows.field()?).map_err(CopyError::Format)?;
            }
            Ok(true)
        };
        while n < BATCH_ROWS {
            match row(&mut cols) {
                Ok(true) => n += 1,
                Ok(false) => {
                    ended = true;
                    break;
                }
                Err(e) => {
                    failed = Some(e.into_ingest(url, "reading rows"));
                    return None;
                }
            }
        }
        if n == 0 {
            return None;
        }
        progress.advance(bytes);
        let arrays: Vec<ArrayRef> = cols.into_iter().map(Builder::finish).collect();
        // a date column that met `infinity` is text in this batch
        let schema = Arc::new(Schema::new(
            names
                .iter()
                .zip(&arrays)
                .map(|(n, a)| Field::new(n, a.data_type().clone(), true))
                .collect::<Vec<_>>(),
        ));
        Some(RecordBatch::try_new(schema, arrays).map_err(IngestError::from))
    });
    let ctx = ParquetCtx {
        path: &at,
        header: &names,
        pos: &pos,
        date_format: &mapping.date_format,
        total_rows: None,
        keys: &keys,
    };
    // numbers arrive as numbers or as PostgreSQL's own text (`1234.50`), never with a comma
    let decimal_comma = std::mem::replace(&mut sink.decimal_comma, false);
    let r = ctx.read_batches(batches, 0, sink);
    sink.decimal_comma = decimal_comma;
    progress.finish();
    if let Some(e) = failed {
        return Err(e);
    }
    r
}

/// One column of a batch being filled. A date or timestamp column that meets `±infinity`
/// turns into text for the rest of its batch (ISO dates, and `infinity`), so that the row is
/// rejected as a file's would be.
enum Builder {
    Int(Int64Builder),
    Float(Float64Builder),
    Date(Date32Builder),
    Timestamp(TimestampMicrosecondBuilder),
    /// Text, and the type it arrives as (text, or a date or timestamp written out).
    Text(StringBuilder, Wire),
}

impl Builder {
    fn new(w: Wire) -> Builder {
        match w {
            Wire::Int => Builder::Int(Int64Builder::with_capacity(BATCH_ROWS)),
            Wire::Float => Builder::Float(Float64Builder::with_capacity(BATCH_ROWS)),
            Wire::Date => Builder::Date(Date32Builder::with_capacity(BATCH_ROWS)),
            Wire::Timestamp => {
                Builder::Timestamp(TimestampMicrosecondBuilder::with_capacity(BATCH_ROWS))
            }
            Wire::Text => Builder::Text(
                StringBuilder::with_capacity(BATCH_ROWS, 16 * BATCH_ROWS),
                Wire::Text,
            ),
        }
    }

    /// Appends one field as COPY's binary format sends it (`None` for NULL); the bytes it
    /// took, for progress.
    fn push(&mut self, field: Option<&[u8]>) -> Result<u64, String> {
        let Some(v) = field else {
            match self {
                Builder::Int(b) => b.append_null(),
                Builder::Float(b) => b.append_null(),
                Builder::Date(b) => b.append_null(),
                Builder::Timestamp(b) => b.append_null(),
                Builder::Text(b, _) => b.append_null(),
            }
            return Ok(0);
        };
        let bad = |what: &str| format!("a {what} of {} bytes", v.len());
        let i32_of = |v: &[u8]| -> Result<i32, String> {
            Ok(i32::from_be_bytes(v.try_into().map_err(|_| bad("date"))?))
        };
        let i64_of = |v: &[u8], what: &str| -> Result<i64, String> {
            Ok(i64::from_be_bytes(v.try_into().map_err(|_| bad(what))?))
        };
        match self {
            Builder::Int(b) => b.append_value(i64_of(v, "bigint")?),
            Builder::Float(b) => b.append_value(f64::from_bits(i64_of(v, "double")? as u64)),
            Builder::Date(b) => match unix_day(i32_of(v)?) {
                Some(day) => b.append_value(day),
                None => {
                    self.become_text(Wire::Date);
                    return self.push(field);
                }
            },
            Builder::Timestamp(b) => match unix_micros(i64_of(v, "timestamp")?) {
                Some(us) => b.append_value(us),
                None => {
                    self.become_text(Wire::Timestamp);
                    return self.push(field);
                }
            },
            Builder::Text(b, Wire::Date) => {
                let d = i32_of(v)?;
                match unix_day(d) {
                    Some(day) => b.append_value(clientele_core::Day(day).to_string()),
                    None => b.append_value(infinity(d > 0)),
                }
            }
            Builder::Text(b, Wire::Timestamp) => {
                let t = i64_of(v, "timestamp")?;
                match unix_micros(t) {
                    Some(us) => {
                        let (day, us) =
                            (us.div_euclid(86_400_000_000), us.rem_euclid(86_400_000_000));
                        let s = us / 1_000_000;
                        let day = clientele_core::Day(day as i32);
                        b.append_value(format!(
                            "{day} {:02}:{:02}:{:02}",
                            s / 3600,
                            s / 60 % 60,
                            s % 60
                        ));
                    }
                    None => b.append_value(infinity(t > 0)),
                }
            }
            Builder::Text(b, _) => {
                // the session's client_encoding is UTF-8, so this holds for any server
                let text =
                    std::str::from_utf8(v).map_err(|_| "text that is not UTF-8".to_string())?;
                b.append_value(text);
            }
        }
        Ok(v.len() as u64)
    }

    /// Turns a date or timestamp column into its ISO text so far; `wire` is how it arrives.
    fn become_text(&mut self, wire: Wire) {
        let done = std::mem::replace(self, Builder::Text(StringBuilder::new(), wire)).finish();
        let text = arrow::compute::cast(&done, &DataType::Utf8).ok().map(|a| {
            use arrow::array::AsArray;
            a.as_string::<i32>().clone()
        });
        if let (Builder::Text(b, _), Some(text)) = (self, text) {
            for v in text.iter() {
                b.append_option(v);
            }
        }
    }

    fn finish(self) -> ArrayRef {
        match self {
            Builder::Int(mut b) => Arc::new(b.finish()),
            Builder::Float(mut b) => Arc::new(b.finish()),
            Builder::Date(mut b) => Arc::new(b.finish()),
            Builder::Timestamp(mut b) => Arc::new(b.finish()),
            Builder::Text(mut b, _) => Arc::new(b.finish()),
        }
    }
}

/// The rows of a binary `COPY … TO STDOUT`, read straight from the stream into the column
/// builders (the format: a signature and header, then per row a field count and per field a
/// length, -1 for NULL, and the value's bytes; a count of -1 ends it).
struct CopyRows<R> {
    r: std::io::BufReader<R>,
    header_read: bool,
    field: Vec<u8>,
}

/// What stopped a COPY stream.
enum CopyError {
    /// The connection or the server (a query that fails on a row) stopped it.
    Io(std::io::Error),
    /// Bytes that are not the binary COPY format.
    Format(String),
}

impl From<std::io::Error> for CopyError {
    fn from(e: std::io::Error) -> Self {
        CopyError::Io(e)
    }
}

impl CopyError {
    fn into_ingest(self, url: &PgUrl, doing: &str) -> IngestError {
        match self {
            CopyError::Io(e) => {
                let inner = e
                    .get_ref()
                    .and_then(|i| i.downcast_ref::<postgres::Error>());
                match inner {
                    Some(pe) => url.error(pe, doing),
                    None => IngestError::Postgres {
                        at: format!("{} ({doing})", url.shown()),
                        reason: format!("the connection broke off: {e}"),
                    },
                }
            }
            CopyError::Format(why) => IngestError::Postgres {
                at: format!("{} ({doing})", url.shown()),
                reason: format!(
                    "the server sent {why} in binary COPY (a bug or a proxy in between)"
                ),
            },
        }
    }
}

/// The 11 bytes binary COPY data starts with.
const COPY_SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";

impl<R: std::io::Read> CopyRows<R> {
    fn new(r: R) -> CopyRows<R> {
        CopyRows {
            r: std::io::BufReader::with_capacity(1 << 20, r),
            header_read: false,
            field: Vec::new(),
        }
    }

    fn read_i32(&mut self) -> Result<i32, CopyError> {
        let mut b = [0u8; 4];
        std::io::Read::read_exact(&mut self.r, &mut b)?;
        Ok(i32::from_be_bytes(b))
    }

    /// Starts the next row: its number of fields, or `None` at the end.
    fn next_row(&mut self) -> Result<Option<usize>, CopyError> {
        if !self.header_read {
            let mut sig = [0u8; 11];
            std::io::Read::read_exact(&mut self.r, &mut sig)?;
            if &sig != COPY_SIGNATURE {
                return Err(CopyError::Format("no binary COPY signature".into()));
            }
            let _flags = self.read_i32()?;
            let ext = self.read_i32()?;
            let mut skip = vec![0u8; usize::try_from(ext).unwrap_or(0)];
            std::io::Read::read_exact(&mut self.r, &mut skip)?;
            self.header_read = true;
        }
        let mut b = [0u8; 2];
        std::io::Read::read_exact(&mut self.r, &mut b)?;
        match i16::from_be_bytes(b) {
            -1 => Ok(None),
            n if n >= 0 => Ok(Some(n as usize)),
            n => Err(CopyError::Format(format!("a field count of {n}"))),
        }
    }

    /// The next field's bytes (`None` for NULL), valid until the next call.
    fn field(&mut self) -> Result<Option<&[u8]>, CopyError> {
        let len = self.read_i32()?;
        if len < 0 {
            return Ok(None);
        }
        self.field.resize(len as usize, 0);
        std::io::Read::read_exact(&mut self.r, &mut self.field)?;
        Ok(Some(&self.field))
    }
}

/// A PostgreSQL day as days since 1970-01-01; `None` for `±infinity`.
fn unix_day(d: i32) -> Option<i32> {
    (d != i32::MAX && d != i32::MIN)
        .then(|| d.checked_add(PG_EPOCH_DAYS))
        .flatten()
}

/// A PostgreSQL timestamp as microseconds since 1970; `None` for `±infinity`.
fn unix_micros(t: i64) -> Option<i64> {
    (t != i64::MAX && t != i64::MIN)
        .then(|| t.checked_add(PG_EPOCH_MICROS))
        .flatten()
}

fn infinity(positive: bool) -> &'static str {
    if positive { "infinity" } else { "-infinity" }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn a_password_in_the_url_is_refused_and_not_repeated() {
        let e = PgUrl::parse_with("postgresql://ann:s3cret@db:5432/shop", &env(&[]), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("PGPASSWORD"), "{e}");
        assert!(!e.contains("s3cret"), "{e}");
        let e = PgUrl::parse_with("host=db user=ann password=s3cret", &env(&[]), None)
            .unwrap_err()
            .to_string();
        assert!(!e.contains("s3cret"), "{e}");
    }

    #[test]
    fn libpq_variables_fill_what_the_url_leaves_out() {
        let u = PgUrl::parse_with(
            "postgresql:///shop",
            &env(&[
                ("PGHOST", "db.example"),
                ("PGPORT", "6543"),
                ("PGUSER", "ann"),
            ]),
            None,
        )
        .unwrap();
        assert_eq!(u.shown(), "postgresql://ann@db.example:6543/shop");
        let u =
            PgUrl::parse_with("postgresql://bob@h/x", &env(&[("PGUSER", "ann")]), None).unwrap();
        assert_eq!(u.shown(), "postgresql://bob@h:5432/x");
        assert!(format!("{u:?}").contains("bob@h"));
    }

    #[test]
    fn the_password_comes_from_the_environment_first_then_the_password_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join(".pgpass");
        std::fs::write(
            &f,
            "# comment\nother:*:*:*:no\nh:5432:shop:ann:from\\:file\n",
        )
        .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let u = PgUrl::parse_with("postgresql://ann@h/shop", &env(&[]), Some(dir.path())).unwrap();
        assert_eq!(u.config.get_password(), Some(&b"from:file"[..]));
        assert_eq!(u.password_from, PasswordFrom::File(f.clone()));
        let u = PgUrl::parse_with(
            "postgresql://ann@h/shop",
            &env(&[("PGPASSWORD", "pw"), ("CLIENTELE_PG_PASSWORD", "cl")]),
            Some(dir.path()),
        )
        .unwrap();
        assert_eq!(u.config.get_password(), Some(&b"cl"[..]));
        assert!(!format!("{u:?} {u}").contains("cl\""));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
            let u =
                PgUrl::parse_with("postgresql://ann@h/shop", &env(&[]), Some(dir.path())).unwrap();
            assert_eq!(u.config.get_password(), None);
            assert_eq!(u.password_from, PasswordFrom::FileIgnored(f));
        }
    }

    #[test]
    fn pgpass_wildcards_and_escapes() {
        let t = "*:*:*:ann:a\\\\b\n";
        assert_eq!(
            pgpass_lookup(t, "x", 1, "d", "ann").as_deref(),
            Some("a\\b")
        );
        assert_eq!(pgpass_lookup(t, "x", 1, "d", "bob"), None);
        assert_eq!(pgpass_lookup("h:5433:*:*:p\n", "h", 5432, "d", "u"), None);
    }

    #[test]
    fn tls_settings_come_from_the_url_or_the_environment_as_in_libpq() {
        let u =
            PgUrl::parse_with("postgresql://ann@h/shop?sslmode=require", &env(&[]), None).unwrap();
        assert_eq!(u.ssl_mode, tls::SslMode::Require);
        assert!(u.tls.is_some());
        let u = PgUrl::parse_with(
            "postgresql://ann@h/shop",
            &env(&[("PGSSLMODE", "disable")]),
            None,
        )
        .unwrap();
        assert!(u.tls.is_none());
        let e = PgUrl::parse_with(
            "postgresql://ann@h/shop?sslmode=verify-full",
            &env(&[]),
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("sslrootcert") && e.contains("postgresql://ann@h/shop"),
            "{e}"
        );
    }

    #[test]
    fn binary_copy_rows_are_read_field_by_field() {
        let mut bytes = COPY_SIGNATURE.to_vec();
        bytes.extend(0i32.to_be_bytes()); // flags
        bytes.extend(0i32.to_be_bytes()); // no header extension
        bytes.extend(2i16.to_be_bytes());
        bytes.extend(8i32.to_be_bytes());
        bytes.extend(42i64.to_be_bytes());
        bytes.extend((-1i32).to_be_bytes()); // NULL
        bytes.extend((-1i16).to_be_bytes()); // the end
        let mut rows = CopyRows::new(&bytes[..]);
        assert!(matches!(rows.next_row(), Ok(Some(2))));
        assert!(matches!(rows.field(), Ok(Some(v)) if v == 42i64.to_be_bytes()));
        assert!(matches!(rows.field(), Ok(None)));
        assert!(matches!(rows.next_row(), Ok(None)));
        let mut bad = CopyRows::new(&b"PGCOPY\nnot binary"[..]);
        assert!(matches!(bad.next_row(), Err(CopyError::Format(_))));
        let mut b = Builder::new(Wire::Int);
        assert!(b.push(Some(&[1, 2, 3])).is_err());
        // a date of infinity turns the column into text, and keeps the dates before it
        let mut d = Builder::new(Wire::Date);
        d.push(Some(&0i32.to_be_bytes())).unwrap();
        d.push(Some(&i32::MAX.to_be_bytes())).unwrap();
        d.push(None).unwrap();
        let a = d.finish();
        use arrow::array::{Array, AsArray};
        let t = a.as_string::<i32>();
        assert_eq!(t.value(0), "2000-01-01");
        assert_eq!(t.value(1), "infinity");
        assert!(t.is_null(2));
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(ident("a\"b"), "\"a\"\"b\"");
    }
}
