//! A customer table larger than memory: the rows split by customer to disk, each part folded
//! on its own, the parts' tables put together into `customers.parquet` in id order.
//!
//! Three passes, each holding one part (or one batch of each part) at a time:
//! 1. the input is read and validated as always ([`clientele_ingest::read_validated_unfolded`]:
//!    same rejects, same accounting) and every valid row is appended, as Arrow IPC, to the
//!    part of its customer id: by ranges of ids taken from a sample of the input
//!    ([`clientele_ingest::sample_ids`]), so the parts follow one another in id order, or by
//!    the id's hash where the input cannot be sampled (a database, whitespace-separated text)
//!    and on a cluster; ranges that come out uneven (a part past its share of memory) are read
//!    again by hash;
//! 2. each part is folded into its customers' rows ([`clientele_ingest::fold_part`]), written
//!    as Arrow IPC in id order, and its rows file removed; the accounting and the KPIs are
//!    added up exactly (money in micro-units);
//! 3. the parts' tables are put end to end (parts by ranges) or merged by customer id (parts
//!    by hash) into `customers.parquet` (and `customers.csv`) while the outputs are written.
//!
//! A customer's row depends on that customer's rows alone, so the table equals the one a run in
//! memory makes, row for row; `tests` check it, with the summary. The spill folder is removed
//! when the run ends, whether it succeeds or fails; one a killed run left is removed by the next
//! run that spills there (it holds the writing mark and names a process that is gone).
//!
//! Side tables are split into the same parts and joined part by part ([`crate::side_parts`]).
//! A whole analysis (`analyze_by_parts`) keeps the merged table on disk column by column
//! through the models and the writing (docs/SCALE.md, step 3b).

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, StringArray};
use arrow::datatypes::SchemaRef;
use arrow::ipc::reader::FileReader;
use arrow::ipc::writer::FileWriter;
use clientele_core::rank::float_key;
use clientele_core::{CustomerTable, Note, columns as col};
use clientele_ingest::{AsOfCounts, InputSize, Progress, RowSink};
use rayon::prelude::*;

use crate::analysis::{ColumnInfo, KpiSums};
use crate::{Analysis, AnalyzeOptions, Config, EngineError, Summary};

/// Rows per batch of a part's table, and so per part held while merging.
const MERGE_BATCH_ROWS: usize = 8192;

/// Bytes a row of the input costs folded in memory (the fold's state at its peak, about 450
/// bytes a customer at three rows a customer, and the reading's buffers): what the number of
/// parts is sized by.
pub const FOLD_BYTES_PER_ROW: u64 = 160;

/// Where and in how many parts a run spills, and with how many reading threads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpillOptions {
    /// The folder the spill folder is made in; `None`: beside the output folder.
    pub dir: Option<PathBuf>,
    /// Parts the customers are split into (at least 1).
    pub parts: usize,
    /// Threads reading the input at once; `None`: every core.
    pub reading_threads: Option<usize>,
    /// Customers in a part of the table that a model step scores at a time (a batch of the
    /// table's columns on disk); `None`: 2²⁰. Small parts for tests through the binary.
    pub part_rows: Option<usize>,
}

impl SpillOptions {
    /// Parts enough for the input to fold within `budget` bytes, each part taking at most a
    /// quarter of it, and as many reading threads (up to `cores`) as a quarter of it holds:
    /// the part's rows read back and the writer take the rest.
    pub fn for_input(input: &InputSize, budget: u64, cores: usize) -> SpillOptions {
        let quarter = (budget / 4).max(1);
        let need = input.rows.saturating_mul(FOLD_BYTES_PER_ROW);
        let threads =
            (quarter / input.bytes_per_reading_thread.max(1)).clamp(1, cores.max(1) as u64);
        SpillOptions {
            dir: None,
            parts: need.div_ceil(quarter).clamp(2, 4096) as usize,
            reading_threads: Some(threads as usize),
            part_rows: None,
        }
    }
}

/// The transactions' [`InputSize`]; `None` for a database source or an unreadable file.
pub fn estimate_input(config: &Config) -> Option<InputSize> {
    if config.source.postgres.is_some() {
        return None;
    }
    let sources = clientele_ingest::expand_sources(&config.source.transactions).ok()?;
    clientele_ingest::input_size(&sources)
}

/// The customer table written by parts, for [`crate::write_outputs_spilled`]; its folder is
/// removed when it is dropped.
#[derive(Debug)]
pub struct SpilledTable {
    folder: SpillFolder,
    /// The parts' tables, each in id order (parts without customers have none).
    parts: Vec<PathBuf>,
    pub(crate) schema: SchemaRef,
    /// The parts' schema: attribute columns still text (`schema` has their decided types).
    part_schema: SchemaRef,
    /// Every part's columns, none of them with rows: what a part lacks is filled from here.
    like: CustomerTable,
    /// Attribute columns to type while merging: position and type.
    retype: Vec<(usize, clientele_ingest::AttributeType)>,
    customers: usize,
    /// The parts follow one another in id order: merging them is putting them end to end.
    in_id_order: bool,
}

impl SpilledTable {
    /// The table of `parts` (each in id order, with the columns of `like` or some of them),
    /// with the attribute columns typed as `types` decides while merging.
    fn of(
        folder: SpillFolder,
        parts: Vec<PathBuf>,
        like: CustomerTable,
        types: &[(String, clientele_ingest::AttributeType)],
        customers: usize,
        in_id_order: bool,
    ) -> SpilledTable {
        let part_schema = Arc::new(crate::output::arrow_schema(&like));
        let mut retype = Vec::new();
        let fields: Vec<arrow::datatypes::Field> = part_schema
            .fields()
            .iter()
            .enumerate()
            .map(|(i, f)| match types.iter().find(|(n, _)| n == f.name()) {
                Some((_, ty)) if *ty != clientele_ingest::AttributeType::Text => {
                    retype.push((i, *ty));
                    let empty = clientele_ingest::typed_as(std::iter::empty(), *ty);
                    let (dt, _) = crate::output::column_array(&empty, 0..0);
                    f.as_ref().clone().with_data_type(dt)
                }
                _ => f.as_ref().clone(),
            })
            .collect();
        SpilledTable {
            folder,
            parts,
            schema: Arc::new(arrow::datatypes::Schema::new(fields)),
            part_schema,
            like,
            retype,
            customers,
            in_id_order,
        }
    }

    /// `b`, a batch of a part, with every column of the table: a column the part lacks (an
    /// optional one none of its customers has) as a fold of all the rows gives it to them.
    fn conformed(&self, b: RecordBatch, path: &Path) -> Result<RecordBatch, EngineError> {
        if b.schema().fields() == self.part_schema.fields() {
            return Ok(b);
        }
        let n = b.num_rows();
        let mut cols = Vec::with_capacity(self.part_schema.fields().len());
        for f in self.part_schema.fields() {
            match (b.column_by_name(f.name()), self.like.get(f.name())) {
                (Some(c), _) => cols.push(Arc::clone(c)),
                (None, Some(template)) => {
                    let absent = clientele_ingest::absent_column(f.name(), template, n);
                    cols.push(crate::output::column_array(&absent, 0..n).1);
                }
                (None, None) => return Err(spill_error(path, &format!("no {} column", f.name()))),
            }
        }
        RecordBatch::try_new(Arc::clone(&self.part_schema), cols).map_err(|e| spill_error(path, &e))
    }

    /// Customers in the table.
    pub fn customers(&self) -> usize {
        self.customers
    }

    /// The folder the parts are in (removed on drop).
    pub fn folder(&self) -> &Path {
        &self.folder.path
    }

    /// Hands the rows to `each` in batches, in customer-id order: a k-way merge of the parts.
    pub(crate) fn merged(
        &self,
        mut each: impl FnMut(&RecordBatch) -> Result<(), EngineError>,
    ) -> Result<(), EngineError> {
        self.merged_with_origins(|b, _| each(b))
    }

    /// [`SpilledTable::merged`], with where each row comes from: (part, row of the part).
    fn merged_with_origins(
        &self,
        mut each: impl FnMut(&RecordBatch, &[(usize, usize)]) -> Result<(), EngineError>,
    ) -> Result<(), EngineError> {
        self.merged_picks(|picked| each(&self.gathered(&picked)?, &picked.origins))
    }

    /// The merge's batches as the rows picked for them, in order, not yet gathered
    /// ([`SpilledTable::gathered`]): picking the next customer across the parts is one
    /// thread's work, which gathering the picked rows need not wait for.
    fn merged_picks(
        &self,
        mut each: impl FnMut(Picked) -> Result<(), EngineError>,
    ) -> Result<(), EngineError> {
        if self.in_id_order {
            return self.end_to_end(each);
        }
        let mut cursors = Vec::with_capacity(self.parts.len());
        for (k, p) in self.parts.iter().enumerate() {
            let f = File::open(p).map_err(|e| EngineError::io(p, e))?;
            let reader = FileReader::try_new(std::io::BufReader::new(f), None)
                .map_err(|e| spill_error(p, &e))?;
            let mut c = Cursor::new(p, k, reader, self);
            if c.next_batch()? {
                cursors.push(c);
            }
        }
        // the parts by their next id, smallest first: ids are unique across parts (a
        // customer is in one part)
        let mut next = ByNextId::default();
        for k in 0..cursors.len() {
            next.push(cursors.as_slice(), k);
        }
        let mut picked = Picked::default();
        while let Some(k) = next.pop(cursors.as_slice()) {
            let c = &mut cursors[k];
            let at = *c.pooled.get_or_insert_with(|| {
                picked.pool.push(c.batch.clone());
                picked.pool.len() - 1
            });
            picked.rows.push((at, c.row));
            picked.origins.push((c.part, c.seen + c.row));
            if c.advance()? {
                next.push(cursors.as_slice(), k);
            }
            if picked.rows.len() == MERGE_BATCH_ROWS || next.is_empty() {
                each(std::mem::take(&mut picked))?;
                cursors.iter_mut().for_each(|c| c.pooled = None);
            }
        }
        Ok(())
    }

    /// [`SpilledTable::merged_picks`] of parts in id order: each part's batches as they are,
    /// one part after another.
    fn end_to_end(
        &self,
        mut each: impl FnMut(Picked) -> Result<(), EngineError>,
    ) -> Result<(), EngineError> {
        for (k, p) in self.parts.iter().enumerate() {
            let f = File::open(p).map_err(|e| EngineError::io(p, e))?;
            let reader = FileReader::try_new(std::io::BufReader::new(f), None)
                .map_err(|e| spill_error(p, &e))?;
            let mut seen = 0;
            for b in reader {
                let b = self.conformed(b.map_err(|e| spill_error(p, &e))?, p)?;
                let n = b.num_rows();
                if n == 0 {
                    continue;
                }
                each(Picked {
                    pool: vec![b],
                    rows: (0..n).map(|r| (0, r)).collect(),
                    origins: (seen..seen + n).map(|r| (k, r)).collect(),
                })?;
                seen += n;
            }
        }
        Ok(())
    }

    /// The rows `picked` gathered into one batch of the table's columns (the columns side by
    /// side).
    fn gathered(&self, picked: &Picked) -> Result<RecordBatch, EngineError> {
        if let [whole] = picked.pool.as_slice()
            && picked.rows.len() == whole.num_rows()
            && picked.rows.iter().enumerate().all(|(i, &at)| at == (0, i))
        {
            // a batch of one part as it is
            return crate::side_parts::retyped(whole.clone(), &self.schema, &self.retype);
        }
        let cols: Vec<ArrayRef> = (0..self.part_schema.fields().len())
            .into_par_iter()
            .map(|i| {
                let arrays: Vec<&dyn arrow::array::Array> =
                    picked.pool.iter().map(|b| b.column(i).as_ref()).collect();
                arrow::compute::interleave(&arrays, &picked.rows)
                    .map_err(|e| EngineError::Internal(format!("merging the parts: {e}")))
            })
            .collect::<Result<_, _>>()?;
        let batch = RecordBatch::try_new(Arc::clone(&self.part_schema), cols)
            .map_err(|e| EngineError::Internal(format!("merging the parts: {e}")))?;
        crate::side_parts::retyped(batch, &self.schema, &self.retype)
    }
}

/// One batch of the merge, picked: the parts' batches its rows come from, each row as
/// (batch in `pool`, row of it), and where each comes from as (part, row of the part).
#[derive(Default)]
struct Picked {
    pool: Vec<RecordBatch>,
    rows: Vec<(usize, usize)>,
    origins: Vec<(usize, usize)>,
}

/// The parts being merged ordered by their next id (then by part), smallest first: a binary
/// heap of the cursors' indices that compares the cursors' current ids where they are, so no
/// id is copied for each customer merged.
#[derive(Default)]
struct ByNextId {
    heap: Vec<usize>,
}

/// Where [`ByNextId`] reads each part's next id.
trait NextIds {
    fn next_id(&self, k: usize) -> &str;
}

impl NextIds for [Cursor<'_>] {
    fn next_id(&self, k: usize) -> &str {
        self[k].id()
    }
}

impl ByNextId {
    fn before(cursors: &(impl NextIds + ?Sized), a: usize, b: usize) -> bool {
        (cursors.next_id(a), a) < (cursors.next_id(b), b)
    }

    fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    fn push(&mut self, cursors: &(impl NextIds + ?Sized), k: usize) {
        let h = &mut self.heap;
        h.push(k);
        let mut i = h.len() - 1;
        while i > 0 {
            let up = (i - 1) / 2;
            if !Self::before(cursors, h[i], h[up]) {
                break;
            }
            h.swap(i, up);
            i = up;
        }
    }

    fn pop(&mut self, cursors: &(impl NextIds + ?Sized)) -> Option<usize> {
        let h = &mut self.heap;
        let last = h.pop()?;
        let Some(&first) = h.first() else {
            return Some(last);
        };
        h[0] = last;
        let mut i = 0;
        loop {
            let (l, r) = (2 * i + 1, 2 * i + 2);
            let mut least = i;
            if l < h.len() && Self::before(cursors, h[l], h[least]) {
                least = l;
            }
            if r < h.len() && Self::before(cursors, h[r], h[least]) {
                least = r;
            }
            if least == i {
                break;
            }
            h.swap(i, least);
            i = least;
        }
        Some(first)
    }
}

/// One part's table being merged: its current batch and row.
struct Cursor<'a> {
    path: &'a Path,
    /// The table the part belongs to: its batches are given its columns.
    table: &'a SpilledTable,
    /// Which part.
    part: usize,
    /// Rows of the part before the current batch.
    seen: usize,
    reader: FileReader<std::io::BufReader<File>>,
    batch: RecordBatch,
    ids: StringArray,
    row: usize,
    /// Where the current batch sits in the merge's pool, once a row of it was picked.
    pooled: Option<usize>,
}

impl<'a> Cursor<'a> {
    fn new(
        path: &'a Path,
        part: usize,
        reader: FileReader<std::io::BufReader<File>>,
        table: &'a SpilledTable,
    ) -> Cursor<'a> {
        let empty = RecordBatch::new_empty(Arc::clone(&table.part_schema));
        Cursor {
            path,
            table,
            part,
            seen: 0,
            reader,
            batch: empty,
            ids: StringArray::from(Vec::<&str>::new()),
            row: 0,
            pooled: None,
        }
    }

    fn id(&self) -> &str {
        self.ids.value(self.row)
    }

    /// Loads the next non-empty batch; false when the part is done.
    fn next_batch(&mut self) -> Result<bool, EngineError> {
        for b in self.reader.by_ref() {
            let b = b.map_err(|e| spill_error(self.path, &e))?;
            if b.num_rows() == 0 {
                continue;
            }
            let b = self.table.conformed(b, self.path)?;
            self.ids = b
                .column(0)
                .as_any()
                .downcast_ref::<StringArray>()
                .cloned()
                .ok_or_else(|| spill_error(self.path, &"customer_id is not text"))?;
            self.seen += self.batch.num_rows();
            self.batch = b;
            self.row = 0;
            self.pooled = None;
            return Ok(true);
        }
        Ok(false)
    }

    /// Moves to the next row; false when the part is done.
    fn advance(&mut self) -> Result<bool, EngineError> {
        self.row += 1;
        if self.row < self.batch.num_rows() {
            return Ok(true);
        }
        self.next_batch()
    }
}

fn spill_error(path: &Path, e: &dyn std::fmt::Display) -> EngineError {
    EngineError::Output {
        path: path.to_path_buf(),
        reason: format!("spill file: {e}"),
    }
}

/// What folding the parts gave: everything but the table itself, which is on disk.
struct Folded {
    folder: SpillFolder,
    validated: clientele_ingest::Validated,
    stats: clientele_ingest::IngestStats,
    kpis: KpiSums,
    top: Vec<crate::TopCustomer>,
    side_tables: Vec<clientele_ingest::SideTableStats>,
    leads: Vec<String>,
    types: Vec<(String, clientele_ingest::AttributeType)>,
    columns: Vec<ColumnInfo>,
    /// The parts' tables (parts without customers have none), in part order.
    tables: Vec<PathBuf>,
    /// Every part's detail (categories, seasonality) with the table it indexes, for a whole
    /// analysis; its months and category spend are in `detail_files`.
    details: Vec<(Option<usize>, clientele_ingest::PartDetail)>,
    /// Each detail's months and category spend, on disk (at 100M rows they are 2.8 GB).
    detail_files: Vec<PartDetailFiles>,
    /// Every part's columns in the fold's order, without rows.
    like: CustomerTable,
    /// The parts' tables follow one another in id order (parts by ranges of ids).
    in_id_order: bool,
    /// The table written straight into the column store as the parts were folded (parts in
    /// id order, a whole analysis); `tables` is empty then.
    straight: Option<Straight>,
}

/// Passes 1 and 2: the input read and split into parts, each part folded, joined with its
/// side tables and written as IPC in id order. With `ingest.monthly_activity` each part's
/// months, category spend and seasonality are kept (in memory) for the models.
fn fold_parts(
    ingest: &mut clientele_ingest::IngestOptions,
    spill: &SpillOptions,
    out: &Path,
    cluster: Option<&clientele_distributed::ClusterUrl>,
    cluster_options: clientele_distributed::ClusterOptions<'_>,
    progress: &dyn Progress,
) -> Result<Folded, EngineError> {
    let (parent, name) = crate::out_dir::parent_and_name(out);
    let home = spill.dir.clone().unwrap_or(parent);
    let folder = SpillFolder::create(&home, &name)?;
    let parts = spill.parts.max(1);
    if let Some(url) = cluster {
        let side = crate::side_parts::SideParts::split(
            ingest,
            &folder.path,
            &clientele_ingest::Partitioner::hash(parts),
        )?;
        return fold_parts_on_cluster(ingest, folder, &side, parts, url, cluster_options, progress);
    }
    let mut split = split_of(ingest, parts);
    let mut side = crate::side_parts::SideParts::split(ingest, &folder.path, &split)?;
    loop {
        let sink = IpcParts::new(&folder.path, split.clone());
        let validated =
            clientele_ingest::read_validated_unfolded(ingest, Box::new(sink), progress)?;
        if let Some(even) = uneven(&folder.path, &split, parts)? {
            // the sample misled (a part holds far more than its share): read again by hash
            split = even;
            side = crate::side_parts::SideParts::split(
                ingest,
                &SpillFolder::subfolder(&folder.path, "side-by-hash")?,
                &split,
            )?;
            continue;
        }
        let parts = split.parts();
        // parts in id order go straight into the column store of a whole analysis
        let straight = (ingest.monthly_activity && split.in_id_order())
            .then(|| Straight::new(&folder.path.join("columns"), spill.part_rows))
            .transpose()?;
        let mut folded = PartsFolded {
            in_id_order: split.in_id_order(),
            straight,
            ..PartsFolded::default()
        };
        progress.start_count(
            &Note::new("分块构建顾客表", "building the customer table by parts"),
            parts as u64,
            &Note::new("块", "parts"),
        );
        let ingest_now: &clientele_ingest::IngestOptions = ingest;
        let read = |k: usize| -> Result<Vec<RecordBatch>, EngineError> {
            let rows = IpcParts::path(&folder.path, k);
            let batches = read_ipc(&rows)?;
            crate::removal::remove_soon(&rows).map_err(|e| EngineError::io(&rows, e))?;
            Ok(batches)
        };
        // Part k is folded while part k - 1 is added (joined, written, its detail put on
        // disk: one thread's work) and part k + 1's rows are read beside it, so the reading
        // waits on neither; parts are added in order, and part k - 1's error comes before
        // part k's, and part k's before part k + 1's, as one after another. Held at once: two
        // parts' folds, each sized to a quarter of the memory budget, and the next part's
        // rows as read (about 60 bytes a row against the fold's 160).
        let mut rows = Some(read(0));
        let mut folded_last: Option<(usize, clientele_ingest::PartTable)> = None;
        for k in 0..parts {
            let batches = rows.take().unwrap_or_else(|| Ok(Vec::new()))?;
            let last = folded_last.take();
            let ((added, next), part) = rayon::join(
                || {
                    let added = match last {
                        Some((j, part)) => folded.add(j, part, ingest_now, &side, &folder.path),
                        None => Ok(()),
                    };
                    (added, (k + 1 < parts).then(|| read(k + 1)))
                },
                || clientele_ingest::fold_part(&batches, validated.as_of, ingest_now),
            );
            drop(batches);
            added?;
            if k > 0 {
                progress.advance(1);
            }
            rows = next;
            folded_last = Some((k, part?));
        }
        if let Some((j, part)) = folded_last {
            folded.add(j, part, ingest_now, &side, &folder.path)?;
            progress.advance(1);
        }
        progress.finish();
        // a far-future typo would have become the as-of date: read again without it, as a
        // run in memory does (only such data pays for the second reading)
        if ingest.as_of.is_none()
            && ingest.latest_plausible.is_none()
            && let (Some(first), Some(last)) =
                (validated.stats.first_date, validated.stats.last_date)
            && let Some(latest) = clientele_ingest::plausible_end(first, last, &folded.line_days)
        {
            for t in &folded.tables {
                let _ = crate::removal::remove_soon(t);
            }
            if let Some(s) = folded.straight.take() {
                s.discard();
            }
            ingest.latest_plausible = Some(latest);
            continue;
        }
        return folded.finish(folder, validated, ingest);
    }
}

/// [`fold_parts`] with each part folded on a cluster: the rows are staged in as many files as
/// there are parts, split as the side tables are ([`clientele_ingest::part_of`]), and each
/// part is one job whose buckets come back merged, so the client holds one part's customers
/// at a time, as a spilled run does. The staging settles the as-of date (a far-future typo
/// included) as a cluster run in memory does.
fn fold_parts_on_cluster(
    ingest: &clientele_ingest::IngestOptions,
    folder: SpillFolder,
    side: &crate::side_parts::SideParts,
    parts: usize,
    url: &clientele_distributed::ClusterUrl,
    options: clientele_distributed::ClusterOptions<'_>,
    progress: &dyn Progress,
) -> Result<Folded, EngineError> {
    let options = clientele_distributed::ClusterOptions {
        parts: Some(parts),
        ..options
    };
    // the staged rows go at the end of this block, before the models run
    let (folded, validated) = {
        let staged = clientele_distributed::stage(url, ingest, options, progress)?;
        let mut folded = PartsFolded::default();
        progress.start_count(
            &Note::new("在集群上分块汇总", "folding the parts on the cluster"),
            parts as u64,
            &Note::new("块", "parts"),
        );
        for k in 0..staged.parts() {
            let part = staged.fold_part(k, ingest)?;
            folded.add(k, part, ingest, side, &folder.path)?;
            progress.advance(1);
        }
        progress.finish();
        (folded, staged.validated())
    };
    folded.finish(folder, validated, ingest)
}

/// What the parts' folds add up to, part by part: their tables and detail written to the
/// spill folder, the accounting, KPIs and best customers summed.
#[derive(Default)]
struct PartsFolded {
    counts: AsOfCounts,
    kpis: KpiSums,
    line_days: std::collections::BTreeMap<i32, u64>,
    tables: Vec<PathBuf>,
    details: Vec<(Option<usize>, clientele_ingest::PartDetail)>,
    detail_files: Vec<PartDetailFiles>,
    /// Each column with an empty one of its type, in the order parts first have them.
    seen: Vec<(String, clientele_core::ColumnData)>,
    top: Vec<crate::TopCustomer>,
    joined: clientele_ingest::SideJoin,
    /// The parts are ranges of ids, in order: their tables follow one another.
    in_id_order: bool,
    /// Where the parts' tables go when they go straight into the column store.
    straight: Option<Straight>,
}

impl PartsFolded {
    /// Part `k`'s fold, its side tables joined onto it, written to `dir` and added up.
    fn add(
        &mut self,
        k: usize,
        mut part: clientele_ingest::PartTable,
        ingest: &clientele_ingest::IngestOptions,
        side: &crate::side_parts::SideParts,
        dir: &Path,
    ) -> Result<(), EngineError> {
        self.joined.add(clientele_ingest::join_side_part(
            &mut part.table,
            ingest,
            &side.part(k)?,
        )?);
        self.counts.add(&part.counts);
        self.kpis.add(&part.table);
        self.top.extend(crate::decide::top_customers(
            &part.table,
            crate::TOP_CUSTOMERS,
        ));
        for (d, n) in part.line_days {
            *self.line_days.entry(d).or_insert(0u64) += n;
        }
        for c in part.table.columns() {
            if !self.seen.iter().any(|(n, _)| *n == c.name) {
                let empty = clientele_ingest::absent_column(&c.name, &c.data, 0);
                self.seen.push((c.name.clone(), empty));
            }
        }
        let tables_before = match &self.straight {
            Some(s) => s.part_rows.len(),
            None => self.tables.len(),
        };
        let table = (!part.table.is_empty()).then_some(tables_before);
        // the part's months go straight after the earlier parts' (its customers after theirs)
        if let (Some(s), Some(d)) = (&mut self.straight, &mut part.detail) {
            s.add_months(std::mem::take(&mut d.months))?;
        }
        if table.is_some() {
            match &mut self.straight {
                Some(s) => s.add(&part.table)?,
                None => {
                    let path = dir.join(format!("table-{k:04}.arrow"));
                    write_table_part(&part.table, &path)?;
                    self.tables.push(path);
                }
            }
        }
        if let Some(mut d) = part.detail {
            let file = |what: &str| dir.join(format!("{what}-{k:04}.bin"));
            let months = std::mem::take(&mut d.months);
            let spend = std::mem::take(&mut d.category_spend);
            self.detail_files.push(PartDetailFiles {
                // none left when they went straight into the store
                months: match months.is_empty() {
                    true => crate::deferred::Deferred::Held(months),
                    false => crate::deferred::Deferred::to_disk(months, &file("months"))?,
                },
                category_spend: crate::deferred::Deferred::to_disk(spend, &file("spend"))?,
            });
            self.details.push((table, d));
        }
        Ok(())
    }

    fn finish(
        self,
        folder: SpillFolder,
        validated: clientele_ingest::Validated,
        ingest: &clientele_ingest::IngestOptions,
    ) -> Result<Folded, EngineError> {
        let mut stats = validated.stats.clone();
        self.counts.fill(&mut stats);
        let (side_tables, leads, types) = self.joined.finish();
        let like = columns_of_all(self.seen, ingest)?;
        let mut columns = column_infos(&like);
        for c in &mut columns {
            if let Some((_, ty)) = types.iter().find(|(n, _)| *n == c.name) {
                c.r#type = clientele_ingest::typed_as(std::iter::empty(), *ty)
                    .type_name()
                    .to_string();
            }
        }
        Ok(Folded {
            folder,
            validated,
            stats,
            kpis: self.kpis,
            top: self.top,
            side_tables,
            leads,
            types,
            columns,
            tables: self.tables,
            details: self.details,
            detail_files: self.detail_files,
            like,
            in_id_order: self.in_id_order,
            straight: self.straight,
        })
    }
}

/// The customer table of parts that follow one another in id order, written straight into
/// the column store ([`crate::column_store::DiskColumns`]) as each part is folded: each
/// column's part appended to its file, so nothing is left to merge (at 100M rows the merge
/// wrote the parts' tables again, 4.4 GB, 7–10 s on one core).
struct Straight {
    /// The store's folder (inside the spill folder).
    dir: PathBuf,
    store: Arc<crate::column_store::DiskColumns>,
    ids: clientele_core::Ids,
    /// Each column in the order first met, with an empty one of its type: a part without
    /// it (an optional field none of its customers has) gets what one fold of all the rows
    /// gives such customers ([`clientele_ingest::absent_column`]).
    columns: Vec<(
        String,
        Box<dyn clientele_core::ColumnSink>,
        clientele_core::ColumnData,
    )>,
    /// Customers of each part that has any, in order.
    part_rows: Vec<usize>,
    /// The parts' months, one after another (until taken for the models).
    months: Option<crate::deferred::Writer<clientele_ingest::MonthActivity>>,
}

impl std::fmt::Debug for Straight {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Straight")
            .field("columns", &self.columns.len())
            .field("part_rows", &self.part_rows)
            .finish()
    }
}

impl Straight {
    /// A store in `dir`; `batch_rows`: rows per batch of its files, when not the default.
    fn new(dir: &Path, batch_rows: Option<usize>) -> Result<Straight, EngineError> {
        let mut store =
            crate::column_store::DiskColumns::new(dir).map_err(|e| spill_error(dir, &e))?;
        if let Some(rows) = batch_rows {
            store = store.with_batch_rows(rows);
        }
        let months = crate::deferred::Writer::create(&store.file("months.bin"))?;
        Ok(Straight {
            dir: dir.to_path_buf(),
            store: Arc::new(store),
            ids: clientele_core::Ids::default(),
            columns: Vec::new(),
            part_rows: Vec::new(),
            months: Some(months),
        })
    }

    /// Customers of the parts added so far.
    fn customers(&self) -> usize {
        self.part_rows.iter().sum()
    }

    /// The next part's months (by its customers, in order), before its table is added.
    fn add_months(
        &mut self,
        months: Vec<clientele_ingest::MonthActivity>,
    ) -> Result<(), EngineError> {
        let before = u32::try_from(self.customers()).map_err(|_| too_many_customers())?;
        let out = self.months.as_mut().ok_or_else(not_held)?;
        for mut m in months {
            m.customer += before;
            out.push(&m)?;
        }
        Ok(())
    }

    /// The next part's table (its customers after every earlier part's) appended.
    fn add(&mut self, t: &CustomerTable) -> Result<(), EngineError> {
        let before = self.customers();
        for c in t.columns() {
            if self.columns.iter().any(|(name, ..)| *name == c.name) {
                continue;
            }
            let sink = clientele_core::ColumnStore::sink(self.store.as_ref(), &c.name)
                .map_err(|e| disk_failure(&c.name, e))?
                .ok_or_else(|| merge_bug(&c.name, "the store takes no parts"))?;
            let empty = clientele_ingest::absent_column(&c.name, &c.data, 0);
            self.columns.push((c.name.clone(), sink, empty));
            if before > 0 {
                let (name, sink, empty) = self.columns.last_mut().ok_or_else(not_held)?;
                let absent = clientele_ingest::absent_column(name, empty, before);
                sink.append(&absent).map_err(|e| disk_failure(name, e))?;
            }
        }
        for (name, sink, empty) in &mut self.columns {
            let appended = match t.get(name) {
                Some(data) => sink.append(data),
                None => sink.append(&clientele_ingest::absent_column(name, empty, t.len())),
            };
            appended.map_err(|e| disk_failure(name, e))?;
        }
        t.ids().iter().for_each(|id| self.ids.push(id));
        self.part_rows.push(t.len());
        Ok(())
    }

    /// The stored table, its columns in the order of `like`, the attribute columns typed as
    /// `types` decided over all the parts; `folder` (holding the store's files) is removed
    /// when the table's last copy is dropped.
    fn finish(
        self,
        like: &CustomerTable,
        types: &[(String, clientele_ingest::AttributeType)],
        folder: SpillFolder,
    ) -> Result<CustomerTable, EngineError> {
        use clientele_core::ColumnStore;
        for (name, sink, _) in self.columns {
            sink.finish().map_err(|e| disk_failure(&name, e))?;
        }
        let store = self.store;
        let mut names = Vec::with_capacity(like.columns().len());
        for c in like.columns() {
            let decided = types.iter().find(|(n, _)| *n == c.name).map(|(_, ty)| *ty);
            let type_name = match decided {
                Some(ty) if ty != clientele_ingest::AttributeType::Text => {
                    let clientele_core::ColumnData::Text(text) =
                        store.load(&c.name).map_err(|e| disk_failure(&c.name, e))?
                    else {
                        return Err(merge_bug(&c.name, "an attribute column is not text"));
                    };
                    let typed = clientele_ingest::typed_as(text.iter(), ty);
                    store
                        .save(&c.name, &typed)
                        .map_err(|e| disk_failure(&c.name, e))?;
                    typed.type_name()
                }
                _ => c.data.type_name(),
            };
            names.push((c.name.clone(), type_name));
        }
        store.keep(Box::new(folder));
        Ok(CustomerTable::stored(self.ids, store, names))
    }

    /// Lets go of what was written (the input is read again): the store's own folder,
    /// made by [`Straight::new`] inside the spill folder.
    fn discard(self) {
        let Straight {
            dir,
            store,
            columns,
            months,
            ..
        } = self;
        drop((columns, months, store));
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// The parts of a run's customer table folded, on this machine or its cluster, with the
/// fold's detail (months, category spend, seasonality) for a whole analysis.
fn fold_run(
    config: &Config,
    opts: &AnalyzeOptions,
    spill: &SpillOptions,
    out: &Path,
    detail: bool,
    progress: &dyn Progress,
) -> Result<Folded, EngineError> {
    refuse_unsupported(config, opts)?;
    let mut ingest = config.ingest_options()?;
    ingest.strict = opts.strict;
    ingest.monthly_activity = detail;
    ingest.reading_threads = spill.reading_threads;
    ingest.rejects_path = opts.rejects_path.clone();
    fold_parts(
        &mut ingest,
        spill,
        out,
        config.engine.cluster.as_ref(),
        config.engine.cluster_options(),
        progress,
    )
}

/// The customer table of a `--customer-table-only` run folded part by part on disk: the
/// summary and rejects as [`crate::analyze`] makes them (the analysis' `customers` is empty),
/// and the table, written by parts, for [`crate::write_outputs_spilled`].
pub fn analyze_spilled(
    config: &Config,
    opts: &AnalyzeOptions,
    spill: &SpillOptions,
    out: &Path,
    progress: &dyn Progress,
) -> Result<(Analysis, SpilledTable), EngineError> {
    if !opts.customer_table_only {
        return Err(EngineError::Internal(
            "analyze_spilled makes the customer table only; a whole analysis folds by parts \
             with analyze_by_parts"
                .into(),
        ));
    }
    let Folded {
        folder,
        validated,
        stats,
        kpis,
        mut top,
        side_tables,
        leads,
        types,
        columns,
        tables,
        details: _,
        detail_files: _,
        like,
        in_id_order,
        straight: _,
    } = fold_run(config, opts, spill, out, false, progress)?;
    let customers = kpis.kpis().customers;
    // the best customers of all: each part's best hold them, ranked as one table would
    top.sort_by(|a, b| {
        let key = |t: &crate::TopCustomer| float_key(t.monetary.unwrap_or(f64::NAN));
        key(b)
            .cmp(&key(a))
            .then_with(|| a.customer_id.cmp(&b.customer_id))
    });
    top.truncate(crate::TOP_CUSTOMERS);
    // as a run in memory makes it with no models
    let models = crate::models::ModelOutputs::default();
    let summary = Summary {
        schema_version: crate::SCHEMA_VERSION,
        tool: format!("clientele {}", env!("CARGO_PKG_VERSION")),
        as_of: validated.as_of,
        config_hash: config.hash(),
        time_unit: config.time.unit,
        lang: config.output.lang,
        reconciliation: stats.reconciliation(),
        inputs: stats,
        side_tables,
        leads_without_purchase: leads.len(),
        kpis: kpis.kpis(),
        columns,
        clv: models.clv,
        validation: crate::Step::Off,
        clusters: models.clusters,
        behaviour: models.behaviour,
        lifecycle: models.lifecycle,
        rfm: models.rfm,
        grades: models.grades,
        skipped_presets: crate::pipeline::with_column_hints(
            models.skipped_presets,
            &validated.column_hints,
        ),
        value_tiers: models.value_tiers,
        target_lists: Vec::new(),
        next_steps: Vec::new(),
        top_customers: top,
        migration: None,
        history: Vec::new(),
        highlights: Default::default(),
    };
    let mut analysis = Analysis {
        summary,
        customers: CustomerTable::new(Vec::new()),
        rejects: validated.rejects,
        comparison: None,
        history_snapshots: Vec::new(),
        playbook_overrides: config.playbook.clone(),
        settings: config.settings(),
        column_hints: validated.column_hints,
        timings: Vec::new(),
    };
    analysis.summary.highlights = crate::decide::highlights(&analysis.summary);
    analysis.summary = crate::numbers::rounded(&analysis.summary)?;
    let table = SpilledTable::of(folder, tables, like, &types, customers, in_id_order);
    Ok((analysis, table))
}

/// The whole analysis with the customer table folded part by part on disk: the fold holds one
/// part at a time, the parts are merged by customer id into a table kept on disk column by
/// column (`column_store`), and the run goes on as [`crate::analyze`] does, each step
/// reading the columns it asks for, with equal results (docs/SCALE.md, step 3b). The analysis'
/// `customers` is that stored table; its spill folder goes when it is dropped.
pub fn analyze_by_parts(
    config: &Config,
    opts: &AnalyzeOptions,
    spill: &SpillOptions,
    out: &Path,
    progress: &dyn Progress,
) -> Result<Analysis, EngineError> {
    let mut f = fold_run(config, opts, spill, out, true, progress)?;
    let customers = f.kpis.kpis().customers;
    // categories and seasonality merged here (the parts' details hold no months or spend:
    // those are on disk)
    let (of_detail, details): (Vec<Option<usize>>, Vec<_>) =
        std::mem::take(&mut f.details).into_iter().unzip();
    let names: Vec<Vec<String>> = details.iter().map(|d| d.categories.clone()).collect();
    let merged_detail = clientele_ingest::merge_details(details, &[])?;
    let (data_table, deferred) = match f.straight.take() {
        Some(mut straight) => {
            // the table and the months are in the store already: only the category spend is
            // put end to end (as it is read), its categories numbered in the merged list
            progress.start(&Note::new("合并各块", "merging the parts"), None);
            let months = straight.months.take().ok_or_else(not_held)?.finish()?;
            let category_spend = spend_end_to_end(
                &of_detail,
                std::mem::take(&mut f.detail_files),
                &straight.part_rows,
                &names,
                &merged_detail.categories,
            )?;
            progress.finish();
            let deferred = crate::deferred::DeferredDetail {
                months,
                category_spend,
            };
            (straight.finish(&f.like, &f.types, f.folder)?, deferred)
        }
        None => merged_into_store(
            f.folder,
            f.tables,
            f.like,
            &f.types,
            f.in_id_order,
            std::mem::take(&mut f.detail_files),
            spill,
            customers,
            &of_detail,
            &names,
            &merged_detail.categories,
            progress,
        )?,
    };
    let data = clientele_ingest::Ingested {
        table: data_table,
        as_of: f.validated.as_of,
        stats: f.stats,
        rejects: f.validated.rejects,
        side_tables: f.side_tables,
        leads_without_purchase: f.leads,
        months: Vec::new(),
        holdout: None,
        category_spend: Vec::new(),
        categories: merged_detail.categories,
        seasonality: Some(merged_detail.seasonality),
        column_hints: f.validated.column_hints,
        rows: None,
    };
    crate::pipeline::analyze_ingested(
        config,
        opts,
        data,
        Some(deferred),
        crate::pipeline::Kept::None,
        false,
        progress,
    )
}

/// The parts' tables (parts by hash, or a customer-table-only fold's) merged by customer id
/// into a table kept on disk column by column, and their months and category spend into
/// their files in the merge's order.
#[allow(clippy::too_many_arguments)]
fn merged_into_store(
    folder: SpillFolder,
    tables: Vec<PathBuf>,
    like: CustomerTable,
    types: &[(String, clientele_ingest::AttributeType)],
    in_id_order: bool,
    detail_files: Vec<PartDetailFiles>,
    spill: &SpillOptions,
    customers: usize,
    of_detail: &[Option<usize>],
    names: &[Vec<String>],
    categories: &[String],
    progress: &dyn Progress,
) -> Result<(CustomerTable, crate::deferred::DeferredDetail), EngineError> {
    let table = SpilledTable::of(folder, tables, like, types, customers, in_id_order);
    // the parts merged into one table kept on disk column by column
    let mut columns = crate::column_store::DiskColumns::new(&table.folder.path.join("columns"))
        .map_err(|e| spill_error(&table.folder.path, &e))?;
    if let Some(rows) = spill.part_rows {
        columns = columns.with_batch_rows(rows);
    }
    let store = Arc::new(columns);
    let mut built = StoredBuilder::new(&table.schema, &store, customers)?;
    let beside = |name: &str| store.file(name);
    // The parts' months and category spend are merged as the table is, customer by
    // customer in the merge's order, into their files (each part's read once, front to
    // back): the whole fold's order, without holding them (2.8 GB at 100M rows).
    let mut detail = DetailMerge::new(
        of_detail,
        detail_files,
        table.parts.len(),
        names,
        categories,
        &beside("months.bin"),
        &beside("category-spend.bin"),
    )?;
    progress.start_count(
        &Note::new("合并各块", "merging the parts"),
        customers as u64,
        &Note::new("位客户", "customers"),
    );
    // Each next customer picked across the parts on a thread of its own, while this one
    // gathers the picked rows (the columns side by side) and stores them, and a third
    // places their months and category spend: picking was half of the step (11 s at 100M
    // rows on one core). A few batches wait between them.
    let (to_store, merged) = std::sync::mpsc::sync_channel::<Picked>(4);
    let (to_detail, origins) = std::sync::mpsc::sync_channel::<Vec<(usize, usize)>>(8);
    let detail = std::thread::scope(|s| -> Result<DetailMerge, EngineError> {
        let table = &table;
        let merging = s.spawn(move || {
            table.merged_picks(|picked| {
                // the storing side stopped on its own failure, which is the one reported
                to_store
                    .send(picked)
                    .map_err(|_| EngineError::Internal("merging the parts: storing stopped".into()))
            })
        });
        let placing = s.spawn(move || {
            for o in origins.iter() {
                detail.place(&o)?;
            }
            Ok::<_, EngineError>(detail)
        });
        let mut stored = Ok(());
        for picked in merged.iter() {
            let batch = match table.gathered(&picked) {
                Ok(b) => b,
                Err(e) => {
                    stored = Err(e);
                    break;
                }
            };
            if let Err(e) = built.append(&batch) {
                stored = Err(e);
                break;
            }
            // the placing side stopped on its own failure, reported below
            if to_detail.send(picked.origins).is_err() {
                break;
            }
            progress.advance(batch.num_rows() as u64);
        }
        // a failed store lets go of the merge, which then stops at its next batch
        drop(merged);
        drop(to_detail);
        let picked = merging
            .join()
            .map_err(|_| EngineError::Internal("merging the parts: the merge panicked".into()))?;
        let placed = placing.join().map_err(|_| {
            EngineError::Internal("merging the parts' detail: the merge panicked".into())
        })?;
        stored.and(picked)?;
        placed
    })?;
    progress.finish();
    let SpilledTable { folder, parts, .. } = table;
    // merged: the parts' tables go (4.4 GB at 100M rows) while the models start
    for p in &parts {
        let _ = crate::removal::remove_soon(p);
    }
    Ok((built.finish(store, folder)?, detail.finish()?))
}

/// The parts' category spend one after another, each part's customers after the earlier
/// parts' (`part_rows`: customers of each part table) and its categories numbered in the
/// merged list `all`: the list a merge by id makes of parts in id order, to the bit. Each
/// part's list stays in its file and is renumbered as the behaviour step reads it: written
/// again end to end, it was 0.9 s of one core at 100M rows, and as much read back.
fn spend_end_to_end(
    of_detail: &[Option<usize>],
    files: Vec<PartDetailFiles>,
    part_rows: &[usize],
    names: &[Vec<String>],
    all: &[String],
) -> Result<crate::deferred::Deferred<clientele_ingest::CategorySpend>, EngineError> {
    let mut before = Vec::with_capacity(part_rows.len());
    let mut sum = 0usize;
    for &n in part_rows {
        before.push(u32::try_from(sum).map_err(|_| too_many_customers())?);
        sum += n;
    }
    u32::try_from(sum).map_err(|_| too_many_customers())?;
    let mut pieces = Vec::with_capacity(files.len());
    for (i, f) in files.into_iter().enumerate() {
        let codes = names
            .get(i)
            .ok_or_else(not_held)?
            .iter()
            .map(|n| all.binary_search(n).map(|k| k as u32))
            .collect::<Result<Vec<u32>, _>>()
            .map_err(|_| EngineError::Internal("a part's category is not merged".into()))?;
        // a part without customers has no spend
        let offset = of_detail.get(i).copied().flatten().map(|t| before[t]);
        f.months.discard();
        pieces.push(crate::deferred::Piece {
            records: f.category_spend,
            offset,
            codes,
        });
    }
    Ok(crate::deferred::Deferred::EndToEnd(pieces))
}

fn too_many_customers() -> EngineError {
    EngineError::Internal("more than 4.29 billion customers in a run by parts".into())
}

/// The parts' months and category spend merged into one list of each, customer by customer
/// in the order the parts' tables are merged ([`DetailMerge::place`]): each customer's
/// entries in its part's order, as [`clientele_ingest::merge_details`] orders them, so sums
/// made from them are the same to the bit. Each part's list is read once, front to back
/// (a part's entries and the merge both go by the part's customers in order).
struct DetailMerge {
    /// Each part table's detail: the detail's index, for the table's index.
    of_table: Vec<Option<usize>>,
    months: Vec<crate::deferred::Cursor<clientele_ingest::MonthActivity>>,
    spend: Vec<crate::deferred::Cursor<clientele_ingest::CategorySpend>>,
    /// Each detail's category codes in the merged list of names.
    codes: Vec<Vec<u32>>,
    months_out: crate::deferred::Writer<clientele_ingest::MonthActivity>,
    spend_out: crate::deferred::Writer<clientele_ingest::CategorySpend>,
    files: Vec<PartDetailFiles>,
    /// Customers placed so far: the next one's row in the merged table.
    next: u32,
}

impl DetailMerge {
    /// `of_detail[i]`: the part table detail `i` indexes; `names[i]`: its categories;
    /// `all`: the merged categories.
    fn new(
        of_detail: &[Option<usize>],
        files: Vec<PartDetailFiles>,
        tables: usize,
        names: &[Vec<String>],
        all: &[String],
        months_path: &Path,
        spend_path: &Path,
    ) -> Result<DetailMerge, EngineError> {
        let mut of_table = vec![None; tables];
        for (i, t) in of_detail.iter().enumerate() {
            if let Some(slot) = t.and_then(|t| of_table.get_mut(t)) {
                *slot = Some(i);
            }
        }
        let codes = names
            .iter()
            .map(|n| {
                n.iter()
                    .map(|n| all.binary_search(n).map(|i| i as u32))
                    .collect::<Result<_, _>>()
                    .map_err(|_| EngineError::Internal("a part's category is not merged".into()))
            })
            .collect::<Result<_, _>>()?;
        Ok(DetailMerge {
            of_table,
            months: (files
                .iter()
                .map(|f| crate::deferred::Cursor::open(&f.months)))
            .collect::<Result<_, _>>()?,
            spend: (files
                .iter()
                .map(|f| crate::deferred::Cursor::open(&f.category_spend)))
            .collect::<Result<_, _>>()?,
            codes,
            months_out: crate::deferred::Writer::create(months_path)?,
            spend_out: crate::deferred::Writer::create(spend_path)?,
            files,
            next: 0,
        })
    }

    /// The entries of the next customers of the merged table, given where each comes from:
    /// (part table, row of it).
    fn place(&mut self, origins: &[(usize, usize)]) -> Result<(), EngineError> {
        for &(t, local) in origins {
            let g = self.next;
            self.next += 1;
            let Some(i) = self.of_table.get(t).copied().flatten() else {
                continue;
            };
            let local = local as u32;
            copy_customer(&mut self.months[i], local, g, &mut self.months_out, |_| {
                Ok(())
            })?;
            let codes = self.codes.get(i);
            copy_customer(&mut self.spend[i], local, g, &mut self.spend_out, |e| {
                e.category = *codes
                    .and_then(|c| c.get(e.category as usize))
                    .ok_or_else(|| {
                        EngineError::Internal("a part's spend names no category".into())
                    })?;
                Ok(())
            })?;
        }
        Ok(())
    }

    /// The merged lists, on disk; the parts' files removed. An entry no customer took is an
    /// error, as a customer the merge did not hold.
    fn finish(mut self) -> Result<crate::deferred::DeferredDetail, EngineError> {
        for m in &mut self.months {
            if m.peek()?.is_some() {
                return Err(not_held());
            }
        }
        for s in &mut self.spend {
            if s.peek()?.is_some() {
                return Err(not_held());
            }
        }
        for f in self.files {
            f.months.discard();
            f.category_spend.discard();
        }
        Ok(crate::deferred::DeferredDetail {
            months: self.months_out.finish()?,
            category_spend: self.spend_out.finish()?,
        })
    }
}

/// The entries of a part's customer `local` (the next ones of `from`, which goes by customer)
/// to `to` as the merged table's customer `g`, each `fix`ed on the way.
fn copy_customer<T: crate::deferred::Flat + crate::deferred::OfCustomer + Copy>(
    from: &mut crate::deferred::Cursor<T>,
    local: u32,
    g: u32,
    to: &mut crate::deferred::Writer<T>,
    mut fix: impl FnMut(&mut T) -> Result<(), EngineError>,
) -> Result<(), EngineError> {
    while let Some(e) = from.peek()?
        && e.customer() <= local
    {
        if e.customer() < local {
            return Err(not_held());
        }
        let mut e = *e;
        e.set_customer(g);
        fix(&mut e)?;
        to.push(&e)?;
        from.advance();
    }
    Ok(())
}

fn not_held() -> EngineError {
    EngineError::Internal("a part's detail names a customer it does not hold".into())
}

/// A part's months and category spend, on disk until they are merged.
struct PartDetailFiles {
    months: crate::deferred::Deferred<clientele_ingest::MonthActivity>,
    category_spend: crate::deferred::Deferred<clientele_ingest::CategorySpend>,
}

/// The parts' merged rows written to a [`crate::column_store::DiskColumns`] as they come:
/// numbers and dates batch by batch, text columns gathered as codes (4 bytes a customer)
/// and written at the end; the ids kept for the stored table.
struct StoredBuilder {
    ids: clientele_core::Ids,
    columns: Vec<Gathered>,
}

enum Gathered {
    Pieces(String, Box<crate::column_store::PieceWriter>, &'static str),
    Text(String, crate::stored::ColumnBuilder),
}

impl StoredBuilder {
    fn new(
        schema: &arrow::datatypes::Schema,
        store: &crate::column_store::DiskColumns,
        rows: usize,
    ) -> Result<StoredBuilder, EngineError> {
        use arrow::datatypes::DataType as T;
        let mut columns = Vec::new();
        for f in schema.fields().iter().skip(1) {
            let name = f.name().clone();
            let (ty, type_name) = match f.data_type() {
                T::Int64 | T::Int32 => (T::Int64, "int"),
                T::Float64 => (T::Float64, "float"),
                T::Date32 => (T::Date32, "date"),
                other => {
                    let b = crate::stored::ColumnBuilder::of(other, rows)
                        .ok_or_else(|| merge_bug(&name, format!("type {other}")))?;
                    columns.push(Gathered::Text(name, b));
                    continue;
                }
            };
            let w = store
                .piecewise(&name, &ty)
                .map_err(|e| disk_failure(&name, e))?;
            columns.push(Gathered::Pieces(name, Box::new(w), type_name));
        }
        Ok(StoredBuilder {
            ids: clientele_core::Ids::with_capacity(rows, rows * 8),
            columns,
        })
    }

    fn append(&mut self, b: &RecordBatch) -> Result<(), EngineError> {
        let ids = b
            .column(0)
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| EngineError::Internal("merging the parts: ids are not text".into()))?;
        let kept = &mut self.ids;
        let keep_ids = || {
            for i in 0..arrow::array::Array::len(ids) {
                kept.push(ids.value(i));
            }
        };
        // each column to its own file, side by side (at 18M customers the copies into the
        // files were most of a single-threaded merge); the first failure in column order
        let columns = &mut self.columns;
        let (_, done) = rayon::join(keep_ids, || -> Vec<Result<(), EngineError>> {
            columns
                .par_iter_mut()
                .zip(b.columns().par_iter().skip(1))
                .map(|(c, a)| {
                    match c {
                        Gathered::Text(name, t) => t.append(a).map_err(|e| merge_bug(name, e)),
                        Gathered::Pieces(name, w, _) => {
                            // as the store keeps the column's type (a narrower int widened, as a
                            // table in memory holds it); the values pass as they are
                            let piece = arrow::compute::cast(a, w.data_type())
                                .map_err(|e| merge_bug(name, e))?;
                            w.append(piece).map_err(|e| disk_failure(name, e))
                        }
                    }
                })
                .collect()
        });
        done.into_iter().collect()
    }

    /// The stored table; `folder` (holding the store's files) is removed when the table's
    /// last copy is dropped.
    fn finish(
        self,
        store: Arc<crate::column_store::DiskColumns>,
        folder: SpillFolder,
    ) -> Result<CustomerTable, EngineError> {
        let mut names = Vec::with_capacity(self.columns.len());
        for c in self.columns {
            let (name, done, type_name) = match c {
                Gathered::Pieces(name, w, type_name) => {
                    let done = (*w).finish(&store);
                    (name, done, type_name)
                }
                Gathered::Text(name, t) => {
                    let data = t.finish().map_err(|e| merge_bug(&name, e))?;
                    let done = clientele_core::ColumnStore::save(store.as_ref(), &name, &data);
                    (name, done, "text")
                }
            };
            done.map_err(|e| disk_failure(&name, e))?;
            names.push((name, type_name));
        }
        store.keep(Box::new(folder));
        Ok(CustomerTable::stored(self.ids, store, names))
    }
}

/// A column of the merged parts that broke one of the merge's own rules (a type it cannot
/// hold, a cast between the types it made): clientele's fault.
fn merge_bug(name: &str, e: impl std::fmt::Display) -> EngineError {
    EngineError::Internal(format!("the parts' column {name}: {e}"))
}

/// A column of the merged parts that could not be written to (or made in) the spill folder:
/// the disk's or the folder's fault (full, removed, unwritable), as the store says.
fn disk_failure(name: &str, reason: String) -> EngineError {
    EngineError::Table(clientele_core::CoreError::Store {
        name: name.to_string(),
        reason,
    })
}

/// Whether this run can fold by parts on disk (`--history monthly`, the holdout and a
/// cluster's SQL plan cannot yet: [`analyze_by_parts`] refuses them).
pub fn can_fold_by_parts(config: &Config, opts: &AnalyzeOptions) -> bool {
    refuse_unsupported(config, opts).is_ok()
}

/// What a spilled run cannot do yet, refused before any work with the way out.
fn refuse_unsupported(config: &Config, opts: &AnalyzeOptions) -> Result<(), EngineError> {
    let validating = config.time.calibration_end.is_some() && config.clv.enabled;
    let why = if config.engine.cluster.is_some()
        && config.engine.plan == clientele_distributed::ClusterPlan::Sql
    {
        Some(
            "a cluster run folds each part with the fold plan, and --cluster-plan sql \
             aggregates the whole table at once (use --cluster-plan fold)",
        )
    } else if opts.customer_table_only {
        None
    } else if opts.history_monthly {
        Some("--history monthly folds the rows again at every month end, from memory")
    } else if validating {
        Some("the holdout validation folds the rows again, from memory")
    } else {
        None
    };
    match why {
        Some(why) => Err(EngineError::InvalidConfig(format!(
            "this run cannot fold by parts on disk: {why}; raise --memory-limit, or leave \
             --spill-dir out"
        ))),
        None => Ok(()),
    }
}

/// The columns `seen` in the parts, in the order one fold of all the rows has them
/// ([`clientele_ingest::order_as_fold`]: the fold's own, then the side tables').
fn columns_of_all(
    mut seen: Vec<(String, clientele_core::ColumnData)>,
    ingest: &clientele_ingest::IngestOptions,
) -> Result<CustomerTable, EngineError> {
    clientele_ingest::order_as_fold(&mut seen, |(n, _)| n.as_str(), ingest)?;
    let mut like = CustomerTable::new(Vec::new());
    for (name, data) in seen {
        like.push(name, data)
            .map_err(|e| EngineError::Internal(format!("the parts' columns: {e}")))?;
    }
    Ok(like)
}

fn column_infos(t: &CustomerTable) -> Vec<ColumnInfo> {
    t.column_names()
        .into_iter()
        .map(|name| ColumnInfo {
            name: name.to_string(),
            r#type: if name == col::CUSTOMER_ID {
                "text".to_string()
            } else {
                t.get(name)
                    .map(|c| c.type_name())
                    .unwrap_or("text")
                    .to_string()
            },
        })
        .collect()
}

fn read_ipc(path: &Path) -> Result<Vec<RecordBatch>, EngineError> {
    let f = match File::open(path) {
        Ok(f) => f,
        // a part no row went to
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(EngineError::io(path, e)),
    };
    FileReader::try_new(std::io::BufReader::new(f), None)
        .map_err(|e| spill_error(path, &e))?
        .map(|b| b.map_err(|e| spill_error(path, &e)))
        .collect()
}

fn write_table_part(t: &CustomerTable, path: &Path) -> Result<(), EngineError> {
    let schema = Arc::new(crate::output::arrow_schema(t));
    let f = File::create(path).map_err(|e| EngineError::io(path, e))?;
    let mut w =
        FileWriter::try_new(BufWriter::new(f), &schema).map_err(|e| spill_error(path, &e))?;
    for start in (0..t.len()).step_by(MERGE_BATCH_ROWS) {
        let rows = start..(start + MERGE_BATCH_ROWS).min(t.len());
        let mut cols: Vec<ArrayRef> = vec![Arc::new(StringArray::from_iter_values(
            rows.clone().map(|i| &t.ids()[i]),
        ))];
        cols.extend(
            t.columns()
                .iter()
                .map(|c| crate::output::column_array(&c.data, rows.clone()).1),
        );
        let b =
            RecordBatch::try_new(Arc::clone(&schema), cols).map_err(|e| spill_error(path, &e))?;
        w.write(&b).map_err(|e| spill_error(path, &e))?;
    }
    w.finish().map_err(|e| spill_error(path, &e))
}

/// The spill folder: `.NAME.spill-PID` with the writing mark, removed on drop.
#[derive(Debug)]
struct SpillFolder {
    path: PathBuf,
}

impl SpillFolder {
    /// A folder `name` inside the spill folder `path` (removed with it).
    fn subfolder(path: &Path, name: &str) -> Result<PathBuf, EngineError> {
        let sub = path.join(name);
        std::fs::create_dir_all(&sub).map_err(|e| EngineError::io(&sub, e))?;
        Ok(sub)
    }

    fn create(home: &Path, name: &str) -> Result<SpillFolder, EngineError> {
        let unwritable = |e: std::io::Error| {
            EngineError::InvalidConfig(format!(
                "the spill folder cannot be made in {}: {e}; give --spill-dir a folder you can \
                 write to, on a disk with room for about twice the input's size",
                home.display()
            ))
        };
        std::fs::create_dir_all(home).map_err(unwritable)?;
        crate::out_dir::remove_stale(home, name);
        let path = home.join(format!(".{name}.spill-{}", std::process::id()));
        if path.exists() {
            return Err(EngineError::InvalidConfig(format!(
                "the spill folder {} already exists: move it away",
                path.display()
            )));
        }
        std::fs::create_dir(&path).map_err(unwritable)?;
        crate::out_dir::register_unfinished(&path);
        crate::out_dir::mark_writing(&path).map_err(unwritable)?;
        Ok(SpillFolder { path })
    }
}

impl Drop for SpillFolder {
    fn drop(&mut self) {
        // the files being removed on their own thread first, so none is left behind
        crate::removal::wait();
        let _ = crate::out_dir::remove_ours(&self.path);
        crate::out_dir::unregister_unfinished(&self.path);
    }
}

/// How a run on this machine splits its customers into `parts`: by ranges of ids, from a
/// sample of the input's ids, so the parts' tables follow one another in id order; by hash
/// where the input cannot be sampled (a database, whitespace-separated text).
fn split_of(
    ingest: &clientele_ingest::IngestOptions,
    parts: usize,
) -> clientele_ingest::Partitioner {
    match clientele_ingest::sample_ids(ingest) {
        Some(sample) if parts > 1 && !sample.is_empty() => {
            clientele_ingest::Partitioner::ranges(sample, parts)
        }
        _ => clientele_ingest::Partitioner::hash(parts),
    }
}

/// Whether the rows read by ranges came out uneven: a part past a quarter more than its share
/// of `parts` (the count the memory budget asked for) would fold in more memory than the
/// budget allows. Then its rows files are removed and the split by hash into `parts` is
/// returned, to read again by.
fn uneven(
    dir: &Path,
    split: &clientele_ingest::Partitioner,
    parts: usize,
) -> Result<Option<clientele_ingest::Partitioner>, EngineError> {
    if !split.in_id_order() {
        return Ok(None);
    }
    let files: Vec<PathBuf> = (0..split.parts()).map(|k| IpcParts::path(dir, k)).collect();
    let sizes: Vec<u64> = files
        .iter()
        .map(|f| std::fs::metadata(f).map_or(0, |m| m.len()))
        .collect();
    let share = sizes.iter().sum::<u64>() / parts.max(1) as u64;
    // a mebibyte of slack: tiny inputs split into many parts are never uneven
    let most = share + share / 4 + (1 << 20);
    if sizes.iter().all(|&n| n <= most) {
        return Ok(None);
    }
    for f in files.iter().filter(|f| f.exists()) {
        crate::removal::remove_soon(f).map_err(|e| EngineError::io(f, e))?;
    }
    Ok(Some(clientele_ingest::Partitioner::hash(parts)))
}

/// Validated rows appended to one Arrow IPC file per part.
struct IpcParts {
    dir: PathBuf,
    split: clientele_ingest::Partitioner,
    writers: Vec<Option<FileWriter<BufWriter<File>>>>,
}

impl IpcParts {
    fn new(dir: &Path, split: clientele_ingest::Partitioner) -> IpcParts {
        IpcParts {
            dir: dir.to_path_buf(),
            writers: (0..split.parts()).map(|_| None).collect(),
            split,
        }
    }

    fn path(dir: &Path, k: usize) -> PathBuf {
        dir.join(format!("rows-{k:04}.arrow"))
    }

    /// What a failed write says: the file, the reason and the way out.
    fn failed(&self, k: usize, e: &dyn std::fmt::Display) -> String {
        format!(
            "writing the spill file {}: {e} (free space there, or give --spill-dir a folder \
             on a disk with room for about twice the input's size)",
            Self::path(&self.dir, k).display()
        )
    }
}

impl RowSink for IpcParts {
    fn partitioner(&self) -> &clientele_ingest::Partitioner {
        &self.split
    }

    fn write(&mut self, k: usize, rows: RecordBatch) -> Result<(), String> {
        if self.writers[k].is_none() {
            let path = Self::path(&self.dir, k);
            let f = File::create(&path).map_err(|e| self.failed(k, &e))?;
            let w = FileWriter::try_new(BufWriter::new(f), &clientele_ingest::validated_schema())
                .map_err(|e| self.failed(k, &e))?;
            self.writers[k] = Some(w);
        }
        let written = match &mut self.writers[k] {
            Some(w) => w.write(&rows),
            None => Ok(()),
        };
        written.map_err(|e| self.failed(k, &e))
    }

    fn restart(&mut self) -> Result<(), String> {
        for k in 0..self.writers.len() {
            if self.writers[k].take().is_some() {
                std::fs::remove_file(Self::path(&self.dir, k)).map_err(|e| self.failed(k, &e))?;
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), String> {
        for k in 0..self.writers.len() {
            if let Some(mut w) = self.writers[k].take() {
                w.finish().map_err(|e| self.failed(k, &e))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clientele_ingest::NoProgress;

    /// A sample shop's transactions with a rejected row and a far-future typo appended (the
    /// typo makes both runs read the input again without it).
    /// The parts' cursors come out of [`ByNextId`] in the order of their next ids, the
    /// lower part first on equal ids, as a sort of all of them gives.
    #[test]
    fn the_parts_come_out_by_their_next_id() {
        use rand::{Rng, SeedableRng};
        struct Lists(Vec<(Vec<String>, usize)>);
        impl NextIds for Lists {
            fn next_id(&self, k: usize) -> &str {
                let (ids, at) = &self.0[k];
                &ids[*at]
            }
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        for parts in [1, 2, 3, 7, 21] {
            let mut lists = Lists(
                (0..parts)
                    .map(|_| {
                        let n = rng.random_range(0..40);
                        let mut ids: Vec<String> = (0..n)
                            .map(|_| format!("c{}", rng.random_range(0..60)))
                            .collect();
                        ids.sort();
                        (ids, 0)
                    })
                    .collect(),
            );
            let mut want: Vec<(String, usize)> = (lists.0.iter().enumerate())
                .flat_map(|(k, (ids, _))| ids.iter().map(move |i| (i.clone(), k)))
                .collect();
            want.sort();
            let mut next = ByNextId::default();
            for k in 0..parts {
                if !lists.0[k].0.is_empty() {
                    next.push(&lists, k);
                }
            }
            let mut got = Vec::new();
            while let Some(k) = next.pop(&lists) {
                got.push((lists.next_id(k).to_string(), k));
                let (ids, at) = &mut lists.0[k];
                *at += 1;
                if *at < ids.len() {
                    next.push(&lists, k);
                }
            }
            assert_eq!(got, want, "{parts} parts");
        }
    }

    fn shop(dir: &Path) -> Config {
        let mut spec = crate::synthetic::ShopSpec::new(3000, 11);
        spec.days = 800;
        let shop = crate::synthetic::generate(&spec, &dir.join("shop"), &|_| {}).unwrap();
        let text = std::fs::read_to_string(&shop.transactions).unwrap();
        let mut lines = text.lines();
        let header = lines.next().unwrap();
        let row: Vec<&str> = lines.next().unwrap().split(',').collect();
        let date_at = header.split(',').position(|h| h == "order_date").unwrap();
        let mut typo = row.clone();
        typo[date_at] = "2099-12-31";
        let mut bad = row.clone();
        bad[date_at] = "not a date";
        let extra = format!("{}\n{}\n", typo.join(","), bad.join(","));
        let path = dir.join("orders.csv");
        std::fs::write(&path, format!("{text}{extra}")).unwrap();
        let mut config = Config::default();
        config.source.transactions = vec![path];
        config
    }

    fn table_only() -> AnalyzeOptions {
        AnalyzeOptions {
            customer_table_only: true,
            ..AnalyzeOptions::default()
        }
    }

    /// The spilled table, summary and rejects equal those of the run in memory, file for file
    /// (`customers.parquet` row for row), for one part and for many; the spill folder is gone
    /// afterwards.
    #[test]
    fn a_spilled_table_equals_the_one_made_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let config = shop(dir.path());
        let memory = spilled_equals_memory(&config, dir.path());
        assert!(memory.summary.inputs.rejected >= 1);
        assert!(
            memory.summary.inputs.last_date < clientele_core::Day::parse_iso("2099-01-01").ok()
        );
    }

    /// A fold adds the category, profit and quantity columns only when some customer has the
    /// field, so with one customer each having them most parts lack them: merged, the table
    /// still equals the run in memory (no categories is 0, no profit or items is missing),
    /// never a part's columns taken for another's.
    #[test]
    fn columns_only_some_parts_have_are_merged_as_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let mut csv = String::from("customer_id,order_date,amount,category,profit,quantity\n");
        for i in 0..200 {
            let (category, profit, quantity) = match i {
                3 => ("书", "", ""),
                77 => ("", "2.50", ""),
                150 => ("", "", "3"),
                _ => ("", "", ""),
            };
            let date = format!("2024-0{}-1{}", 1 + i % 9, i % 10);
            csv += &format!(
                "C{i:04},{date},{}.25,{category},{profit},{quantity}\n",
                10 + i
            );
        }
        let path = dir.path().join("orders.csv");
        std::fs::write(&path, csv).unwrap();
        let mut config = Config::default();
        config.source.transactions = vec![path];
        let memory = spilled_equals_memory(&config, dir.path());
        for c in ["categories", "top_category", "profit", "items"] {
            assert!(memory.customers.get(c).is_some(), "{c}");
        }
    }

    /// An input that cannot be sampled (whitespace-separated text) is split by hash and its
    /// parts merged by id: the same table as parts by ranges give (the same rows with
    /// commas), and as the run in memory.
    #[test]
    fn parts_by_hash_merged_by_id_equal_the_run_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let mut rows = Vec::new();
        for i in 0..400 {
            // ids in no order, some customers with several rows
            let id = (i * 37) % 151;
            let date = format!("2024-0{}-1{}", 1 + i % 9, i % 10);
            rows.push([
                format!("K{id:04}"),
                date,
                format!("{}.5", 10 + i),
                format!("c{}", i % 4),
            ]);
        }
        let text = |sep: &str| {
            let mut t = ["customer_id", "order_date", "amount", "category"].join(sep) + "\n";
            for r in &rows {
                t += &(r.join(sep) + "\n");
            }
            t
        };
        let mut by = Vec::new();
        for (name, sep, delimiter) in [("commas", ",", ","), ("spaces", " ", "whitespace")] {
            let path = dir.path().join(format!("{name}.csv"));
            std::fs::write(&path, text(sep)).unwrap();
            let mut config = Config::default();
            config.source.transactions = vec![path];
            config.source.delimiter = delimiter.parse().unwrap();
            let ingest = config.ingest_options().unwrap();
            assert_eq!(split_of(&ingest, 7).in_id_order(), name == "commas");
            let sub = dir.path().join(name);
            std::fs::create_dir_all(&sub).unwrap();
            by.push(spilled_equals_memory(&config, &sub).customers);
        }
        assert_eq!(by[0], by[1]);
    }

    /// Rows read by ranges that came out uneven (a part past a quarter more than its share)
    /// are removed and the split by hash given to read again by; even ones are kept.
    #[test]
    fn uneven_ranges_are_read_again_by_hash() {
        let dir = tempfile::tempdir().unwrap();
        let ranges = clientele_ingest::Partitioner::ranges(vec!["a".into(), "m".into()], 2);
        assert_eq!(ranges.parts(), 2);
        let write = |k: usize, mib: usize| {
            std::fs::write(IpcParts::path(dir.path(), k), vec![0u8; mib << 20]).unwrap()
        };
        write(0, 4);
        write(1, 5);
        assert_eq!(uneven(dir.path(), &ranges, 2).unwrap(), None);
        write(1, 12);
        let again = uneven(dir.path(), &ranges, 2).unwrap();
        assert_eq!(again, Some(clientele_ingest::Partitioner::hash(2)));
        crate::removal::wait();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        // parts by hash are never read again
        assert_eq!(
            uneven(dir.path(), &clientele_ingest::Partitioner::hash(2), 2).unwrap(),
            None
        );
    }

    /// Side tables joined part by part equal the join in memory: duplicates, unknown ids,
    /// bad scores and rows without an id counted alike, an attribute column typed on the whole
    /// column (an age of `47.5` in one part makes every age a float), leads without a purchase.
    #[test]
    fn side_tables_joined_by_part_equal_the_join_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = shop(dir.path());
        let shop = dir.path().join("shop");
        let edit = |name: &str, f: &dyn Fn(String) -> String| {
            let p = shop.join(name);
            let text = std::fs::read_to_string(&p).unwrap();
            std::fs::write(&p, f(text)).unwrap();
            p
        };
        let attributes = edit("customers.csv", &|t| {
            let mut lines: Vec<String> = t.lines().map(str::to_string).collect();
            let mut f: Vec<String> = lines[7].split(',').map(str::to_string).collect();
            f[2] = "47.5".into(); // age
            lines[7] = f.join(",");
            let dup = lines[1].replace("上海", "北京");
            lines.push(dup); // a second row for the first customer: skipped
            lines.push("NOBODY,男,30,上海,门店,5000,2024-01-01".into());
            lines.push(",女,31,广州,门店,4000,2024-01-02".into()); // no id
            lines.push("C0000003,女".into()); // a short row after its first
            lines.join("\n") + "\n"
        });
        let satisfaction = edit("satisfaction.csv", &|t| {
            t + "C0000001,2025-01-01,abc\n,2025-01-01,3\nC0000002,2025-01-02,5\nNOBODY,2025-01-01,4\n"
        });
        let leads = edit("leads.csv", &|t| {
            let first = t.lines().nth(1).unwrap().to_string();
            t + &first + "\nC0000001,门店,2025-01-01\nNEW-LEAD,门店,2025-01-01\n"
        });
        config.source.attributes = Some(attributes);
        config.source.satisfaction = Some(satisfaction);
        config.source.leads = Some(leads);
        let memory = spilled_equals_memory(&config, dir.path());
        let s = &memory.summary;
        assert_eq!(s.side_tables.len(), 3);
        assert!(s.leads_without_purchase > 0);
        let kinds: Vec<_> = s
            .columns
            .iter()
            .map(|c| (c.name.as_str(), c.r#type.as_str()))
            .collect();
        assert!(kinds.contains(&("age", "float")), "{kinds:?}");
        assert!(kinds.contains(&("signup_date", "date")), "{kinds:?}");
        assert!(kinds.contains(&("income", "int")), "{kinds:?}");
        assert!(kinds.contains(&("satisfaction", "float")), "{kinds:?}");
        let attr = &s.side_tables[0];
        assert!(attr.skipped.len() == 2 && attr.matched > 0, "{attr:?}");
    }

    /// The whole analysis with the table folded by parts equals the run in memory (side
    /// tables, a rejected row and a far-future typo included): the summary, every model
    /// column, and the files, for one part and for many; the spill folder is gone afterwards.
    #[test]
    fn a_whole_analysis_folded_by_parts_equals_the_run_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = shop(dir.path());
        let shop = dir.path().join("shop");
        config.source.attributes = Some(shop.join("customers.csv"));
        config.source.satisfaction = Some(shop.join("satisfaction.csv"));
        config.source.leads = Some(shop.join("leads.csv"));
        let memory = whole_by_parts_equals_memory(&config, dir.path());
        assert!(memory.summary.lifecycle.is_some() && memory.summary.clv.done().is_some());
    }

    /// A whole analysis of parts by ranges whose first parts lack the optional columns
    /// (categories, profit, quantity: one customer each) goes straight into the column
    /// store as one fold of all the rows makes them: the columns a part lacks filled in.
    #[test]
    fn columns_later_parts_bring_go_straight_into_the_store_as_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let mut csv = String::from("customer_id,order_date,amount,category,profit,quantity\n");
        for i in 0..400 {
            let (category, profit, quantity) = match i {
                150 => ("书", "", ""),
                250 => ("", "2.50", ""),
                390 => ("", "", "3"),
                _ => ("", "", ""),
            };
            for k in 0..=i % 4 {
                let day = format!("202{}-0{}-1{}", 3 + k % 3, 1 + (i + k) % 9, i % 10);
                csv += &format!(
                    "C{i:04},{day},{}.25,{category},{profit},{quantity}\n",
                    10 + i + k
                );
            }
        }
        let path = dir.path().join("orders.csv");
        std::fs::write(&path, csv).unwrap();
        let mut config = Config::default();
        config.source.transactions = vec![path];
        let ingest = config.ingest_options().unwrap();
        assert!(split_of(&ingest, 7).in_id_order());
        let memory = whole_by_parts_equals_memory(&config, dir.path());
        assert!(memory.summary.lifecycle.is_some());
        for c in ["categories", "top_category", "profit", "items"] {
            assert!(memory.customers.get(c).is_some(), "{c}");
        }
    }

    /// A whole analysis by parts (1 and 7) equals the run in memory: summary, table and files.
    fn whole_by_parts_equals_memory(config: &Config, dir: &Path) -> Analysis {
        let format = crate::OutputFormat::Both;
        let compression = crate::ParquetCompression::default();
        let whole = AnalyzeOptions::default();
        let memory = crate::analyze(config, &whole, &NoProgress).unwrap();
        let a = dir.join("memory");
        crate::write_outputs(&memory, &a, format, compression, &[], &[]).unwrap();
        for parts in [1, 7] {
            let spill_home = dir.join(format!("spill-whole-{parts}"));
            let b = dir.join(format!("by-parts-{parts}"));
            let spill = SpillOptions {
                dir: Some(spill_home.clone()),
                parts,
                reading_threads: None,
                part_rows: None,
            };
            let by_parts = analyze_by_parts(config, &whole, &spill, &b, &NoProgress).unwrap();
            // kept on disk through the models and the writing
            assert!(by_parts.customers.is_stored());
            assert_eq!(by_parts.summary, memory.summary, "{parts} parts");
            let in_memory = by_parts.customers.clone().into_memory().unwrap();
            assert_eq!(in_memory, memory.customers, "{parts} parts");
            // as the binary writes it: the table's space given back behind the last file read
            crate::write_outputs_last(&by_parts, &b, format, compression, &[], &[]).unwrap();
            drop(by_parts);
            assert_eq!(std::fs::read_dir(&spill_home).unwrap().count(), 0);
            for f in [
                "customers.parquet",
                "customers.csv",
                "summary.json",
                "rejects.csv",
                "snapshot/snapshot.json",
            ] {
                assert!(
                    std::fs::read(a.join(f)).unwrap() == std::fs::read(b.join(f)).unwrap(),
                    "{f}, {parts} parts"
                );
            }
        }
        memory
    }

    /// Grading schemes graded beside K-means (in memory) grade as one after another after it
    /// (by parts): a scheme of the fold's and CLV's columns with statistics, and with them a
    /// scheme that reads another's grade or K-means' cluster (then every scheme waits for
    /// K-means, in memory too).
    #[test]
    fn gradings_beside_k_means_equal_gradings_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let plain = "[[scheme]]\nname = \"spend\"\nrules = [\n  \
            { grade = \"top\", when = \"monetary > p80(monetary) AND clv > p50(clv)\" },\n  \
            { grade = \"mid\", when = \"orders > 2\" },\n]\ndefault = \"rest\"\n";
        let reads_a_grade = "[[scheme]]\nname = \"again\"\nrules = [\n  \
            { grade = \"top again\", when = \"grade_spend = 'top'\" },\n]\ndefault = \"no\"\n";
        let reads_a_cluster = "[[scheme]]\nname = \"first cluster\"\nrules = [\n  \
            { grade = \"one\", when = \"cluster = 1\" },\n]\ndefault = \"other\"\n";
        let whole = AnalyzeOptions::default();
        let mut config = shop(dir.path());
        for (i, schemes) in [
            plain.to_string(),
            format!("{plain}{reads_a_grade}"),
            format!("{plain}{reads_a_cluster}"),
        ]
        .iter()
        .enumerate()
        {
            let parsed = Config::from_toml(schemes, "c.toml").unwrap();
            config.scheme = parsed.scheme;
            let memory = crate::analyze(&config, &whole, &NoProgress).unwrap();
            let beside = memory.timings.iter().any(|t| {
                t.step.en == "gradings"
                    && t.detail
                        .as_ref()
                        .is_some_and(|d| d.en.contains("alongside"))
            });
            assert_eq!(beside, i == 0, "{schemes}");
            let spill = SpillOptions {
                dir: Some(dir.path().join(format!("spill-{i}"))),
                parts: 3,
                reading_threads: None,
                part_rows: None,
            };
            let out = dir.path().join(format!("by-parts-{i}"));
            let by_parts = analyze_by_parts(&config, &whole, &spill, &out, &NoProgress).unwrap();
            assert_eq!(by_parts.summary.grades, memory.summary.grades, "{schemes}");
            assert!(!memory.summary.grades.is_empty());
            let in_memory = by_parts.customers.clone().into_memory().unwrap();
            assert_eq!(in_memory, memory.customers, "{schemes}");
        }
    }

    /// Runs `config` in memory and spilled in 1 and 7 parts; asserts the outputs equal and
    /// the spill folders are gone; the run in memory.
    fn spilled_equals_memory(config: &Config, dir: &Path) -> Analysis {
        let memory = crate::analyze(config, &table_only(), &NoProgress).unwrap();
        let format = crate::OutputFormat::Both;
        let compression = crate::ParquetCompression::default();
        let a = dir.join("memory");
        crate::write_outputs(&memory, &a, format, compression, &[], &[]).unwrap();
        for parts in [1, 7] {
            let spill_home = dir.join(format!("spill-{parts}"));
            let b = dir.join(format!("spilled-{parts}"));
            let spill = SpillOptions {
                dir: Some(spill_home.clone()),
                parts,
                reading_threads: None,
                part_rows: None,
            };
            let (spilled, table) =
                analyze_spilled(config, &table_only(), &spill, &b, &NoProgress).unwrap();
            assert!(table.folder().exists());
            crate::write_outputs_spilled(&spilled, &table, &b, format, compression, &[], &[])
                .unwrap();
            let folder = table.folder().to_path_buf();
            drop(table);
            assert!(!folder.exists(), "{folder:?} removed");
            assert_eq!(std::fs::read_dir(&spill_home).unwrap().count(), 0);
            assert_eq!(spilled.summary, memory.summary, "{parts} parts");
            for f in [
                "customers.parquet",
                "customers.csv",
                "summary.json",
                "rejects.csv",
            ] {
                assert_eq!(
                    std::fs::read(a.join(f)).unwrap(),
                    std::fs::read(b.join(f)).unwrap(),
                    "{f}, {parts} parts"
                );
            }
            let read = |p: &Path| crate::read_customers(&p.join("customers.parquet")).unwrap();
            assert_eq!(read(&b), memory.customers, "{parts} parts");
        }
        memory
    }

    /// Each part folds in a quarter of the limit, and the readers hold at most another
    /// quarter (at least one reader, at most one a core).
    #[test]
    fn parts_and_reading_threads_follow_the_limit() {
        let gib = 1u64 << 30;
        let csv = InputSize {
            rows: 100_000_000,
            bytes_per_reading_thread: 64 << 20,
        };
        let s = SpillOptions::for_input(&csv, 4 * gib, 2);
        assert_eq!((s.parts, s.reading_threads), (15, Some(2)));
        assert_eq!(
            SpillOptions::for_input(&csv, 4 * gib, 64).reading_threads,
            Some(16)
        );
        let parquet = InputSize {
            rows: 10_000_000,
            bytes_per_reading_thread: 300_000_000,
        };
        let s = SpillOptions::for_input(&parquet, gib / 2, 16);
        assert_eq!((s.parts, s.reading_threads), (12, Some(1)));
        assert_eq!(
            SpillOptions::for_input(&parquet, 4 * gib, 16).reading_threads,
            Some(3)
        );
        let tiny = InputSize {
            rows: 10,
            bytes_per_reading_thread: 64 << 20,
        };
        assert_eq!(SpillOptions::for_input(&tiny, 4 * gib, 2).parts, 2);
    }

    /// What a spilled run cannot do yet is refused before any work, naming the way out.
    #[test]
    fn runs_that_cannot_spill_yet_are_refused_with_the_way_out() {
        let dir = tempfile::tempdir().unwrap();
        let config = shop(dir.path());
        let spill = SpillOptions {
            dir: Some(dir.path().join("spill")),
            parts: 3,
            reading_threads: None,
            part_rows: None,
        };
        let out = dir.path().join("out");
        let history = AnalyzeOptions {
            history_monthly: true,
            ..AnalyzeOptions::default()
        };
        let msg = analyze_by_parts(&config, &history, &spill, &out, &NoProgress)
            .err()
            .unwrap()
            .to_string();
        assert!(msg.contains("--history monthly"), "{msg}");
        let mut validating = config.clone();
        validating.time.calibration_end = clientele_core::Day::parse_iso("2024-06-30").ok();
        let msg = analyze_by_parts(
            &validating,
            &AnalyzeOptions::default(),
            &spill,
            &out,
            &NoProgress,
        )
        .err()
        .unwrap()
        .to_string();
        assert!(msg.contains("holdout"), "{msg}");
        let mut on_cluster = config.clone();
        on_cluster.engine.cluster = Some("df://localhost:50050".parse().unwrap());
        on_cluster.engine.plan = clientele_distributed::ClusterPlan::Sql;
        let msg = analyze_spilled(&on_cluster, &table_only(), &spill, &out, &NoProgress)
            .err()
            .unwrap()
            .to_string();
        assert!(msg.contains("--cluster-plan fold"), "{msg}");
        assert!(!dir.path().join("spill").exists());
    }

    /// A spill folder that cannot be made, and a failed run, leave nothing behind; one a
    /// killed run left (its process gone) is removed by the next run that spills there.
    #[test]
    fn spill_folders_are_removed_on_failure_and_after_a_killed_run() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = shop(dir.path());
        let out = dir.path().join("out");
        // a file where the spill folder's home should be
        let blocked = dir.path().join("blocked");
        std::fs::write(&blocked, b"mine").unwrap();
        let spill = SpillOptions {
            dir: Some(blocked.clone()),
            parts: 2,
            reading_threads: None,
            part_rows: None,
        };
        let msg = analyze_spilled(&config, &table_only(), &spill, &out, &NoProgress)
            .err()
            .unwrap()
            .to_string();
        assert!(msg.contains("--spill-dir"), "{msg}");
        assert_eq!(std::fs::read(&blocked).unwrap(), b"mine");
        // a leftover of a process that is gone (pid 0x7ffffffe does not run here)
        let home = dir.path().join("spill");
        let left = home.join(".out.spill-2147483646");
        std::fs::create_dir_all(&left).unwrap();
        crate::out_dir::mark_writing(&left).unwrap();
        std::fs::write(left.join("rows-0000.arrow"), b"old").unwrap();
        // someone's folder of the same shape without the mark is never touched
        let theirs = home.join(".out.spill-2147483645");
        std::fs::create_dir_all(&theirs).unwrap();
        std::fs::write(theirs.join("notes.txt"), b"mine").unwrap();
        // a run that fails after spilling: a date format that reads no row
        config.columns.date_format = Some("%d/%m/%Y".into());
        let spill = SpillOptions {
            dir: Some(home.clone()),
            parts: 2,
            reading_threads: Some(1),
            part_rows: None,
        };
        assert!(analyze_spilled(&config, &table_only(), &spill, &out, &NoProgress).is_err());
        let mut left_now: Vec<String> = std::fs::read_dir(&home)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left_now.sort();
        assert_eq!(left_now, vec![".out.spill-2147483645".to_string()]);
    }
}
