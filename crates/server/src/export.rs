//! `GET /api/v1/export`: a selection of customers as a file, streamed. The engine writes the
//! rows slice by slice into a bounded channel that feeds the response, so a list of millions
//! leaves the server at the client's pace in constant memory.

use std::io::Write;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use clientele_engine::ExportFormat;
use serde::Deserialize;
use tokio::sync::mpsc;

use crate::api::Q;
use crate::state::Selection;
use crate::{ApiError, AppState};

/// `GET /api/v1/export` parameters: a selection as for `/customers`, and a format.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct ExportQuery {
    /// A served run (default: the primary).
    pub run: Option<String>,
    /// A grouping key.
    pub scheme: Option<String>,
    /// A group of `scheme`.
    pub grade: Option<String>,
    /// A condition in the rule language.
    #[serde(rename = "where")]
    pub filter: Option<String>,
    /// Sort column; `-column` for descending.
    pub sort: Option<String>,
    /// Customer ids starting with this text.
    pub q: Option<String>,
    /// `csv` (UTF-8 with BOM, for Excel; the default) or `parquet`.
    pub format: Option<ExportFormat>,
}

/// Blocks of this many bytes travel to the socket; the channel holds a few.
const BLOCK: usize = 64 * 1024;
const BLOCKS_IN_FLIGHT: usize = 8;

/// A `Write` that hands full blocks to the response body.
struct ChannelWriter {
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
    buf: Vec<u8>,
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= BLOCK {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let block = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(BLOCK)));
        self.tx
            .blocking_send(Ok(block))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client went away"))
    }
}

/// `attachment` with an ASCII name and the UTF-8 one (RFC 6266 / 5987).
fn disposition(name: &str) -> HeaderValue {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b".-_".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    HeaderValue::from_str(&format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

pub(crate) async fn export(
    State(s): State<AppState>,
    Q(q): Q<ExportQuery>,
) -> Result<Response, ApiError> {
    let format = q.format.unwrap_or(ExportFormat::Csv);
    s.limits.check_filter(q.filter.as_deref())?;
    let run = s.library.run(q.run.as_deref())?;
    let sel = Selection {
        scheme: q.scheme.clone(),
        grade: q.grade.clone(),
        filter: q.filter.clone(),
        sort: q.sort.clone(),
        id_prefix: q.q.clone(),
    };
    let rows = {
        let run = Arc::clone(&run);
        tokio::task::spawn_blocking(move || run.select(&sel))
            .await
            .map_err(|e| ApiError::internal(&e))??
    };
    if rows.len() > s.limits.export_rows {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "{} customers; one export holds at most {}",
                rows.len(),
                s.limits.export_rows
            ),
        )
        .fix("narrow the selection with scheme, grade or where")
        .zh(format!(
            "{} 位客户；一次导出最多 {} 位",
            rows.len(),
            s.limits.export_rows
        ))
        .fix_zh("用 scheme、grade 或 where 缩小选择范围"));
    }
    let (tx, mut rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(BLOCKS_IN_FLIGHT);
    let count = rows.len();
    tokio::task::spawn_blocking(move || {
        let mut w = ChannelWriter {
            tx: tx.clone(),
            buf: Vec::with_capacity(BLOCK),
        };
        let res = clientele_engine::export(run.table(), &rows, format, &mut w).and_then(|()| {
            w.flush()
                .map_err(|e| clientele_engine::EngineError::Output {
                    path: "<export>".into(),
                    reason: e.to_string(),
                })
        });
        if let Err(e) = res {
            // the client sees a broken transfer, never a truncated file passed off as whole
            eprintln!("clientele serve: export stopped: {e}");
            let _ = tx.blocking_send(Err(std::io::Error::other("export stopped")));
        }
    });
    let stream = futures::stream::poll_fn(move |cx| rx.poll_recv(cx));
    let name = format.file_name(q.scheme.as_deref(), q.grade.as_deref());
    let mut r = Body::from_stream(stream).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    h.insert(header::CONTENT_DISPOSITION, disposition(&name));
    if let Ok(v) = HeaderValue::from_str(&count.to_string()) {
        h.insert("x-clientele-customers", v);
    }
    Ok(r)
}
