//! How a run by parts splits its customers, and the ids it samples to split them by range.
//!
//! Parts by the id's hash come out of even size whatever the ids, but in no order: their
//! tables must be merged by id afterwards. Parts by ranges of ids follow one another in id
//! order, so their tables are simply put one after another; their sizes rest on a sample of
//! the ids taken before the reading ([`sample_ids`]). The split never changes a result: every
//! row of a customer goes to one part either way.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use crate::delimited::Records;
use crate::options::{CsvOptions, Delimiter};
use crate::{IngestOptions, SourceFormat};

/// Which part of a run by parts each customer id is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Partitioner {
    /// By the id's hash: `parts` parts of about even size, in no order.
    Hash { parts: usize },
    /// By ranges of ids: part `k` holds the ids from `splitters[k - 1]` (included) up to
    /// `splitters[k]` (left out), so each part's ids sort before the next part's. The
    /// splitters are increasing; there is one part more than splitters. `keys` are their
    /// [`key`]s, which order most ids without comparing them whole.
    Ranges {
        splitters: Vec<String>,
        keys: Vec<u64>,
    },
}

/// An id's first 8 bytes as a big-endian number, zero-padded: ids whose keys differ are in
/// the keys' order (a shorter id's padding sorts before any byte a longer one has there,
/// as the shorter id sorts first); ids with equal keys are compared whole.
#[inline]
fn key(id: &str) -> u64 {
    let mut b = [0u8; 8];
    let n = id.len().min(8);
    b[..n].copy_from_slice(&id.as_bytes()[..n]);
    u64::from_be_bytes(b)
}

impl Partitioner {
    /// Parts by hash (at least 1).
    pub fn hash(parts: usize) -> Partitioner {
        Partitioner::Hash {
            parts: parts.max(1),
        }
    }

    /// Up to `parts` ranges holding about as many of the `sample`'s ids each: ids of rows
    /// spread over the input, so parts of about even numbers of rows. Fewer parts where the
    /// sample has fewer distinct ids.
    pub fn ranges(mut sample: Vec<String>, parts: usize) -> Partitioner {
        sample.sort_unstable();
        let parts = parts.max(1);
        let mut splitters: Vec<String> = Vec::with_capacity(parts - 1);
        for k in 1..parts {
            let Some(s) = sample.get(k * sample.len() / parts) else {
                break;
            };
            // the first part is never empty by a splitter at the smallest id, nor two
            // splitters the same
            if sample.first() != Some(s) && splitters.last() != Some(s) {
                splitters.push(s.clone());
            }
        }
        let keys = splitters.iter().map(|s| key(s)).collect();
        Partitioner::Ranges { splitters, keys }
    }

    /// How many parts.
    pub fn parts(&self) -> usize {
        match self {
            Partitioner::Hash { parts } => (*parts).max(1),
            Partitioner::Ranges { splitters, .. } => splitters.len() + 1,
        }
    }

    /// Whether every id of a part sorts before every id of the next part.
    pub fn in_id_order(&self) -> bool {
        matches!(self, Partitioner::Ranges { .. }) || self.parts() == 1
    }

    /// The part customer `id` is in.
    pub fn part_of(&self, id: &str) -> usize {
        self.part_of_row(crate::transactions::id_hash(id), id)
    }

    /// [`Partitioner::part_of`] with the id's hash already made (the reading makes it).
    #[inline]
    pub(crate) fn part_of_row(&self, hash: u64, id: &str) -> usize {
        match self {
            Partitioner::Hash { parts } => crate::validated::part_of_hash(hash, *parts),
            Partitioner::Ranges { splitters, keys } => {
                // the splitters up to `id` by their keys, and only those of its own key
                // compared whole: a comparison of whole ids for every row was a sixth of the
                // reading
                let k = key(id);
                let upto = keys.partition_point(|&s| s <= k);
                if upto == 0 || keys[upto - 1] != k {
                    return upto;
                }
                let below = keys[..upto].partition_point(|&s| s < k);
                below + splitters[below..upto].partition_point(|s| s.as_str() <= id)
            }
        }
    }
}

/// Windows read from each file for a sample of its ids, spread evenly over it (fewer in a
/// small file).
const WINDOWS: u64 = 256;
/// Bytes of one window.
const WINDOW_BYTES: usize = 64 * 1024;
/// Row groups of a Parquet file sampled, and rows read from each.
const ROW_GROUPS: usize = 64;
const ROWS_PER_GROUP: usize = 2048;

/// Customer ids of rows spread over the transactions' files, read without going through
/// them: windows of each delimited file at even offsets, and the first rows of row
/// groups spread over each Parquet file, in proportion to the files' sizes. `None` where a
/// source cannot be sampled so (a database, whitespace-separated text, a file that does not
/// open): the caller then splits by hash. Nothing here rejects or
/// reports a row; the reading does, as always.
pub fn sample_ids(opts: &IngestOptions) -> Option<Vec<String>> {
    if opts.postgres.is_some() {
        return None;
    }
    let files = crate::expand_sources(&opts.transactions).ok()?;
    let sizes: Vec<u64> = files
        .iter()
        .map(|p| std::fs::metadata(p).map(|m| m.len()).ok())
        .collect::<Option<_>>()?;
    let total = sizes.iter().sum::<u64>().max(1);
    let mut ids = Vec::new();
    for (path, size) in files.iter().zip(sizes) {
        // each file's share of the windows, at least one
        let share = (WINDOWS * size).div_ceil(total).max(1);
        match SourceFormat::of(path) {
            SourceFormat::Csv => sample_text(path, &opts.csv, &opts.columns, share, &mut ids)?,
            SourceFormat::Parquet => sample_parquet(path, &opts.columns, share as usize, &mut ids)?,
        }
    }
    Some(ids)
}

/// Ids from `windows` windows of a delimited file (decoded from its encoding).
fn sample_text(
    path: &Path,
    csv: &CsvOptions,
    mapping: &crate::ColumnMapping,
    windows: u64,
    ids: &mut Vec<String>,
) -> Option<()> {
    let Delimiter::Byte(delimiter) = csv.delimiter else {
        return None;
    };
    // text in another encoding is decoded window by window: a window starts after a line
    // break, and no byte of a GBK, GB18030 or Windows-1252 character is a line break
    let encoding = crate::reader::decoder_of(csv.encoding);
    let decoded = |b: &[u8]| -> Vec<u8> {
        match encoding {
            None => b.to_vec(),
            Some(e) => e.decode_without_bom_handling(b).0.into_owned().into_bytes(),
        }
    };
    let mut file = File::open(path).ok()?;
    let size = file.metadata().ok()?.len();
    let mut head = vec![0u8; WINDOW_BYTES.min(size as usize)];
    file.read_exact(&mut head).ok()?;
    let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&head);
    let header_text = decoded(text);
    let mut records = Records::new(delimiter, header_text.as_slice());
    let first = records.next_record().ok()??;
    let fields = first.text()?;
    let header = crate::reader::header_names(
        (0..fields.len())
            .map(|i| fields.field(i).to_string())
            .collect(),
        csv.no_header,
    );
    let at = crate::reader::resolve(path, &header, mapping)
        .ok()?
        .customer_id;
    let bom = (head.len() - text.len()) as u64;
    let start = match (csv.no_header, encoding) {
        (true, _) => bom,
        (false, None) => bom + records.consumed(),
        // the header's bytes as written, up to its line break
        (false, Some(_)) => bom + text.iter().position(|&b| b == b'\n')? as u64 + 1,
    };
    let windows = windows.min((size - start) / WINDOW_BYTES as u64 + 1);
    let mut buf = Vec::with_capacity(WINDOW_BYTES);
    for w in 0..windows {
        let offset = start + (size - start) * w / windows;
        file.seek(SeekFrom::Start(offset)).ok()?;
        buf.clear();
        (&mut file)
            .take(WINDOW_BYTES as u64)
            .read_to_end(&mut buf)
            .ok()?;
        let window = buf.as_slice();
        // whole lines only: from after the first line break (unless the window starts one)
        // up to the last
        let from = if offset == start {
            0
        } else {
            match window.iter().position(|&b| b == b'\n') {
                Some(i) => i + 1,
                None => continue,
            }
        };
        let Some(to) = window.iter().rposition(|&b| b == b'\n') else {
            continue;
        };
        if to < from {
            continue;
        }
        let lines = decoded(&window[from..=to]);
        let mut records = Records::new(delimiter, lines.as_slice());
        while let Ok(Some(r)) = records.next_record() {
            if let Some(id) = r
                .text()
                .filter(|t| t.len() > at)
                .map(|t| t.field(at).trim())
                && !id.is_empty()
            {
                ids.push(id.to_string());
            }
        }
    }
    Some(())
}

/// Ids from the first rows of up to `groups` row groups spread over a Parquet file.
fn sample_parquet(
    path: &Path,
    mapping: &crate::ColumnMapping,
    groups: usize,
    ids: &mut Vec<String>,
) -> Option<()> {
    use parquet::arrow::ProjectionMask;
    use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ParquetRecordBatchReaderBuilder};
    let f = File::open(path).ok()?;
    let meta = ArrowReaderMetadata::load(&f, Default::default()).ok()?;
    let header = crate::reader::parquet_header(&meta);
    let at = crate::reader::resolve(path, &header, mapping)
        .ok()?
        .customer_id;
    let count = meta.metadata().num_row_groups();
    let groups = groups.clamp(1, ROW_GROUPS).min(count);
    for i in 0..groups {
        let g = i * count / groups;
        let mask = ProjectionMask::roots(meta.parquet_schema(), [at]);
        let reader =
            ParquetRecordBatchReaderBuilder::new_with_metadata(f.try_clone().ok()?, meta.clone())
                .with_row_groups(vec![g])
                .with_projection(mask)
                .with_limit(ROWS_PER_GROUP)
                .with_batch_size(ROWS_PER_GROUP)
                .build()
                .ok()?;
        for b in reader {
            let b = b.ok()?;
            let text = arrow::compute::cast(b.column(0), &arrow::datatypes::DataType::Utf8).ok()?;
            let text = text.as_any().downcast_ref::<arrow::array::StringArray>()?;
            ids.extend(text.iter().flatten().map(|s| s.trim().to_string()));
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Encoding;

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("c{i:05}")).collect()
    }

    #[test]
    fn ranges_split_a_sample_into_parts_in_id_order() {
        let p = Partitioner::ranges(ids(1000), 4);
        assert_eq!(p.parts(), 4);
        assert!(p.in_id_order());
        let parts: Vec<usize> = ids(1000).iter().map(|id| p.part_of(id)).collect();
        // in order, each part a quarter
        assert!(parts.windows(2).all(|w| w[0] <= w[1]));
        for k in 0..4 {
            assert_eq!(parts.iter().filter(|&&q| q == k).count(), 250);
        }
        // ids outside the sample still fall in order: before all, after all
        assert_eq!(p.part_of(""), 0);
        assert_eq!(p.part_of("zzz"), 3);
    }

    /// The part by keys is the part by whole ids, for ids short and long, with shared
    /// prefixes, NUL bytes and multi-byte characters.
    #[test]
    fn parts_by_keys_are_parts_by_whole_ids() {
        let words = [
            "",
            "\0",
            "a",
            "a\0",
            "a\0\0",
            "ab",
            "abcdefgh",
            "abcdefgh\0",
            "abcdefghi",
            "abcdefgi",
            "abcdefgz",
            "b",
            "zzzzzzzzzzzz",
            "书",
            "书店",
            "C0000001",
            "C00000010",
            "C0000002",
            "C18200000",
        ];
        let mut ids: Vec<String> = Vec::new();
        for a in words {
            for b in ["", "0", "\0", "x", "书"] {
                ids.push(format!("{a}{b}"));
            }
        }
        for step in [1, 2, 3, 5, 7] {
            let sample: Vec<String> = ids.iter().step_by(step).cloned().collect();
            let p = Partitioner::ranges(sample, 9);
            let Partitioner::Ranges { splitters, .. } = &p else {
                panic!("ranges")
            };
            for id in &ids {
                let whole = splitters.partition_point(|s| s.as_str() <= id.as_str());
                assert_eq!(p.part_of(id), whole, "{id:?}");
            }
        }
    }

    #[test]
    fn a_sample_of_few_distinct_ids_gives_fewer_parts() {
        let one = Partitioner::ranges(vec!["a".into(); 100], 8);
        assert_eq!(one.parts(), 1);
        assert_eq!(one.part_of("a"), 0);
        let none = Partitioner::ranges(Vec::new(), 8);
        assert_eq!(none.parts(), 1);
        let two = Partitioner::ranges(vec!["b".into(), "a".into(), "b".into(), "b".into()], 4);
        assert_eq!(two.parts(), 2);
        assert_eq!((two.part_of("a"), two.part_of("b")), (0, 1));
    }

    #[test]
    fn hash_parts_are_the_reading_split() {
        let p = Partitioner::hash(7);
        assert!(!p.in_id_order());
        assert!(Partitioner::hash(1).in_id_order());
        for id in ids(50) {
            assert_eq!(p.part_of(&id), crate::part_of(&id, 7));
        }
    }

    #[test]
    fn a_delimited_file_is_sampled_across_its_length() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tx.csv");
        let mut text = String::from("\u{feff}order_id;date;customer;amount\n");
        for i in 0..200_000 {
            text.push_str(&format!("{i};2024-01-01; c{i:06} ;1,5\n"));
        }
        std::fs::write(&path, text).unwrap();
        let mut opts = IngestOptions::new(vec![path]);
        opts.csv.delimiter = Delimiter::Byte(b';');
        opts.columns.customer_id = "customer".into();
        opts.columns.order_date = "date".into();
        let sample = sample_ids(&opts).unwrap();
        assert!(sample.len() > 10_000, "{}", sample.len());
        assert!(sample.iter().all(|s| s.len() == 7 && s.starts_with('c')));
        // from the first rows to the last
        assert!(sample.contains(&"c000000".to_string()));
        assert!(sample.iter().any(|s| s.as_str() > "c190000"));
        // even parts by rows
        let p = Partitioner::ranges(sample, 4);
        let mut sizes = [0usize; 4];
        for i in 0..200_000 {
            sizes[p.part_of(&format!("c{i:06}"))] += 1;
        }
        assert!(
            sizes.iter().all(|&n| (40_000..60_000).contains(&n)),
            "{sizes:?}"
        );
    }

    #[test]
    fn a_parquet_file_is_sampled_across_its_row_groups() {
        use std::sync::Arc;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tx.parquet");
        let schema = Arc::new(arrow::datatypes::Schema::new(vec![
            arrow::datatypes::Field::new("customer_id", arrow::datatypes::DataType::Int64, false),
            arrow::datatypes::Field::new("order_date", arrow::datatypes::DataType::Utf8, false),
            arrow::datatypes::Field::new("amount", arrow::datatypes::DataType::Float64, false),
        ]));
        let props = parquet::file::properties::WriterProperties::builder()
            .set_max_row_group_row_count(Some(5000))
            .build();
        let f = File::create(&path).unwrap();
        let mut w = parquet::arrow::ArrowWriter::try_new(f, schema.clone(), Some(props)).unwrap();
        let ids: Vec<i64> = (0..100_000).collect();
        let batch = arrow::array::RecordBatch::try_new(
            schema,
            vec![
                Arc::new(arrow::array::Int64Array::from(ids)),
                Arc::new(arrow::array::StringArray::from(vec!["2024-01-01"; 100_000])),
                Arc::new(arrow::array::Float64Array::from(vec![1.0; 100_000])),
            ],
        )
        .unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let sample = sample_ids(&IngestOptions::new(vec![path])).unwrap();
        // the first rows of each of the 20 row groups
        assert_eq!(sample.len(), 20 * ROWS_PER_GROUP);
        assert!(sample.contains(&"0".to_string()));
        assert!(sample.contains(&"95000".to_string()));
    }

    #[test]
    fn text_in_gbk_is_sampled_decoded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("订单.csv");
        let mut text = String::from("订单号,日期,客户,金额\n");
        for i in 0..50_000 {
            text.push_str(&format!("{i},2024-01-01,客户{i:05},1.5\n"));
        }
        std::fs::write(&path, encoding_rs::GBK.encode(&text).0).unwrap();
        let mut opts = IngestOptions::new(vec![path]);
        opts.csv.encoding = Encoding::Gbk;
        opts.columns.customer_id = "客户".into();
        opts.columns.order_date = "日期".into();
        opts.columns.amount = "金额".into();
        let sample = sample_ids(&opts).unwrap();
        assert!(sample.len() > 10_000, "{}", sample.len());
        assert!(sample.contains(&"客户00000".to_string()));
        assert!(sample.iter().any(|s| s.as_str() > "客户45000"));
        assert!(
            sample
                .iter()
                .all(|s| s.starts_with("客户") && s.len() == 11),
            "{sample:?}"
        );
    }

    #[test]
    fn sources_it_cannot_sample_say_so() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tx.txt");
        std::fs::write(&path, "c1 19970101 1 2.5\n").unwrap();
        let mut opts = IngestOptions::new(vec![path.clone()]);
        opts.csv.delimiter = Delimiter::Whitespace;
        assert_eq!(sample_ids(&opts), None);
        let missing = IngestOptions::new(vec![dir.path().join("none.csv")]);
        assert_eq!(sample_ids(&missing), None);
    }
}
