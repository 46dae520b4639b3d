//! The per-customer aggregation, streamed: rows are folded in as they are read, and only what
//! the customer table needs is kept — a small state per customer and one 32-byte line per
//! distinct (customer, day, order, category) — never the rows themselves.
//!
//! Customers are sharded by id hash (many small shards, so that each one's hash table and
//! states stay in cache). Each line records its customer, so at the end each shard's lines are
//! partitioned by customer: a counting sort on the customer's rank by id, with sequential reads
//! and independent writes, where following a per-customer chain through hundreds of megabytes
//! would wait on memory at every step. The customers are then visited in id order, each one's
//! lines contiguous and sorted by day, and one sweep gives purchase days, gaps, distinct orders
//! and categories, months, category spend and seasonality exactly, whatever the order of the
//! input. Money stays in integer micro-units throughout, so every sum is exact and independent
//! of row order and of how the reading was split.

use clientele_core::columns as col;
use clientele_core::{ColumnData, CustomerTable, Day, Ids, Names, Texts, Values};
use hashbrown::HashTable;
use rayon::iter::{
    IndexedParallelIterator, IntoParallelIterator, IntoParallelRefIterator,
    IntoParallelRefMutIterator, ParallelIterator,
};
use rayon::slice::{ParallelSlice, ParallelSliceMut};

use crate::transactions::{
    MONEY_SCALE, NO_CATEGORY, NO_ORDER, NO_VALUE, Packed, RowBuffer, SHARDS, id_hash, id_prefix,
};
use crate::{CategorySpend, IngestError, IngestStats, MonthActivity, PeriodSums, Seasonality};

/// `Line::flags`: at least one row of the line has a non-negative amount (a purchase, not
/// only a return).
const NONNEG: u32 = 1;
/// `State::has`: a row of the customer had a profit / a quantity.
const HAS_PROFIT: u32 = 1;
const HAS_QUANTITY: u32 = 2;
/// `State::last_line` of a customer without lines yet.
const NO_LINE: u32 = u32::MAX;

/// Rows of one customer on one day with one order id and one category, summed.
#[derive(Debug, Clone, Copy, Default)]
struct Line {
    /// The customer (index into its shard's states).
    customer: u32,
    day: i32,
    category: u32,
    flags: u32,
    amount: i64,
    order: u64,
}

impl Line {
    fn nonneg(&self) -> bool {
        self.flags & NONNEG != 0
    }
}

/// Sums over a customer's rows up to as-of that need no day or order detail.
#[derive(Debug, Clone, Copy)]
struct State {
    monetary: i64,
    profit: i64,
    items: i64,
    return_amount: i64,
    /// `HAS_PROFIT` | `HAS_QUANTITY`: some row had the value.
    has: u32,
    /// Lines of this customer (the size of its part when the lines are partitioned).
    lines: u32,
    returns: u32,
    /// The customer's latest line (the last one pushed), which a row with the same day, order
    /// and category joins. Its key is copied here so that the check costs no memory access
    /// beyond this state.
    last_line: u32,
    last_day: i32,
    last_category: u32,
    last_order: u64,
}

impl State {
    const NEW: State = State {
        monetary: 0,
        profit: 0,
        items: 0,
        return_amount: 0,
        has: 0,
        lines: 0,
        returns: 0,
        last_line: NO_LINE,
        last_day: 0,
        last_category: 0,
        last_order: 0,
    };
}

/// The customers whose id hash falls in one shard, and their state.
#[derive(Debug)]
struct Shard {
    /// Rows after this day only count (and feed the holdout when `keep_after`).
    as_of: Option<i32>,
    keep_after: bool,
    ids: Ids,
    /// (id prefix, id length, customer): ids of up to 8 bytes are matched without
    /// touching `ids`.
    index: HashTable<(u64, u32, u32)>,
    states: Vec<State>,
    lines: Vec<Line>,
    used: u64,
    after: u64,
    total: i128,
    /// More lines than a `u32` addresses.
    overflow: bool,
    /// The first customer (index into `states`) whose sum passed i64, and which sum.
    too_large: Option<(u32, Sum)>,
}

/// A per-customer sum that is kept exactly in an `i64`.
#[derive(Debug, Clone, Copy)]
enum Sum {
    Amounts,
    Returns,
    Profits,
    Quantities,
}

impl Sum {
    /// The sum in words, and the column its values come from.
    fn words(self) -> (&'static str, &'static str) {
        match self {
            Sum::Amounts => ("amounts", "amount"),
            Sum::Returns => ("returns", "amount"),
            Sum::Profits => ("profits", "profit"),
            Sum::Quantities => ("quantities", "quantity"),
        }
    }
}

/// Adds `v` to `sum`; on overflow leaves `sum` as it is and names the first sum that
/// overflowed in `overflow`.
fn add(sum: &mut i64, v: i64, what: Sum, overflow: &mut Option<Sum>) {
    match sum.checked_add(v) {
        Some(s) => *sum = s,
        None => *overflow = overflow.or(Some(what)),
    }
}

/// Everything the sweep produces.
#[derive(Debug)]
pub(crate) struct Aggregates {
    pub table: CustomerTable,
    pub months: Vec<MonthActivity>,
    pub category_spend: Vec<CategorySpend>,
    pub categories: Vec<String>,
    /// Per weekday and calendar month, money in micro-units (exact, to add up over parts).
    pub seasonality: Option<Seasonality>,
    pub holdout: Option<Vec<f64>>,
    /// Σ amounts of the used rows, and of the return-only customers' rows, in micro-units:
    /// exact, for adding up the parts of a spilled run.
    pub total_micros: i128,
    pub return_only_micros: i128,
}

/// What `finish` is asked for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Finish {
    pub as_of: Day,
    /// Count holdout purchase days in `(as_of, end]`.
    pub holdout_end: Option<Day>,
    /// Days per unit of the CLV-convention columns.
    pub unit_days: f64,
    /// Count the CLV-convention columns in calendar periods of this unit instead (one
    /// opportunity per period: BG/BB on years, quarters, …).
    pub calendar: Option<clientele_core::TimeUnit>,
    /// Months, category spend and seasonality as well.
    pub detail: bool,
}

impl Shard {
    fn new(as_of: Option<Day>, keep_after: bool) -> Shard {
        Shard {
            as_of: as_of.map(|d| d.0),
            keep_after,
            ids: Ids::new(),
            index: HashTable::new(),
            states: Vec::new(),
            lines: Vec::new(),
            used: 0,
            after: 0,
            total: 0,
            overflow: false,
            too_large: None,
        }
    }

    /// The index of row `p`'s customer, added when new (`rows` holds the row's id).
    fn intern(&mut self, p: &Packed, rows: &RowBuffer) -> usize {
        let ids = &self.ids;
        let (prefix, len) = (p.prefix, p.len);
        let same = |&(q, n, c): &(u64, u32, u32)| {
            q == prefix && n == len && (len <= 8 || &ids[c as usize] == rows.long_id(p))
        };
        if let Some(&(_, _, c)) = self.index.find(p.hash, same) {
            return c as usize;
        }
        let c = self.states.len() as u32;
        // an id of up to 8 bytes is its prefix: no trip to the row buffer, a cache miss
        let bytes = prefix.to_be_bytes();
        match std::str::from_utf8(&bytes[..(len as usize).min(8)]) {
            Ok(id) if len <= 8 => self.ids.push(id),
            _ => self.ids.push(rows.long_id(p)),
        }
        let ids = &self.ids;
        self.index
            .insert_unique(p.hash, (prefix, len, c), |&(_, _, c)| {
                id_hash(&ids[c as usize])
            });
        self.states.push(State::NEW);
        c as usize
    }

    /// Folds in this shard's rows of a buffer (`rows` holds their ids).
    /// `cats` maps the buffer's categories to the accumulator's.
    fn absorb(&mut self, rows: &RowBuffer, packed: &[Packed], cats: &[u32]) {
        for p in packed {
            let (day, amount) = (p.day, p.amount);
            let after = self.as_of.is_some_and(|a| day > a);
            if after {
                self.after += 1;
                if !self.keep_after {
                    continue;
                }
            } else {
                self.used += 1;
                self.total += i128::from(amount);
            }
            let c = self.intern(p, rows);
            let customer = c as u32;
            let mut overflow = None;
            let st = &mut self.states[c];
            if !after {
                add(&mut st.monetary, amount, Sum::Amounts, &mut overflow);
                if amount < 0 {
                    st.returns += 1;
                    add(&mut st.return_amount, -amount, Sum::Returns, &mut overflow);
                }
                if p.profit != NO_VALUE {
                    add(&mut st.profit, p.profit, Sum::Profits, &mut overflow);
                    st.has |= HAS_PROFIT;
                }
                if p.quantity != NO_VALUE {
                    add(&mut st.items, p.quantity, Sum::Quantities, &mut overflow);
                    st.has |= HAS_QUANTITY;
                }
            }
            let category = match p.category {
                NO_CATEGORY => NO_CATEGORY,
                k => cats[k as usize],
            };
            let order = p.order;
            let flags = if amount >= 0 { NONNEG } else { 0 };
            if st.last_line != NO_LINE
                && st.last_day == day
                && st.last_category == category
                && st.last_order == order
                && let Some(l) = self.lines.get_mut(st.last_line as usize)
            {
                add(&mut l.amount, amount, Sum::Amounts, &mut overflow);
                l.flags |= flags;
            } else {
                let n = self.lines.len();
                if n >= NO_LINE as usize {
                    self.overflow = true;
                    continue;
                }
                self.lines.push(Line {
                    customer,
                    day,
                    category,
                    flags,
                    amount,
                    order,
                });
                st.last_line = n as u32;
                st.lines += 1;
                st.last_day = day;
                st.last_category = category;
                st.last_order = order;
            }
            if let Some(what) = overflow {
                self.too_large.get_or_insert((customer, what));
            }
        }
    }
}

/// Folds validated rows into per-customer state, sharded by customer-id hash (the buffers
/// come split by shard), each shard folding its rows on its own thread.
#[derive(Debug)]
pub(crate) struct Accumulator {
    shards: Vec<Shard>,
    categories: Names,
    /// A buffer could not address its long ids.
    overflow: bool,
    /// Copies of the buffers folded in, when asked to keep them ([`Accumulator::keep_rows`]).
    kept: Option<Vec<RowBuffer>>,
    /// Where every buffer also goes, for an engine that aggregates elsewhere
    /// ([`crate::read_validated`]).
    pub(crate) tap: Option<crate::validated::Tap>,
    /// Fold the buffers (off when only the tap needs them).
    pub(crate) fold: bool,
}

impl Accumulator {
    /// The last plausible order day, when the latest lines lie far beyond the bulk of the
    /// data (a typo such as 9999-12-31, which would otherwise become the as-of date); `None`
    /// when nothing does. The bulk ends at the latest day once the latest 0.1 % of lines (at
    /// least one) are set aside; a line is implausible when it lies more than a year after
    /// that, or more than the bulk's own span if that is longer. So at most 0.1 % of lines can
    /// be implausible, and data whose days all lie within a year never are.
    pub fn implausible_after(&self, first: Day, last: Day) -> Option<Day> {
        if i64::from(last.0) - i64::from(first.0) <= 366 {
            return None;
        }
        let n: usize = self.shards.iter().map(|s| s.lines.len()).sum();
        let keep = (n / 1000).max(1) + 1;
        // the `keep` latest line days of each shard, then of all
        let mut latest: Vec<i32> = self
            .shards
            .par_iter()
            .flat_map_iter(|s| {
                let mut days: Vec<i32> = s.lines.iter().map(|l| l.day).collect();
                if days.len() > keep {
                    let at = days.len() - keep;
                    days.select_nth_unstable(at);
                    days.drain(..at);
                }
                days
            })
            .collect();
        if latest.len() < keep {
            return None;
        }
        let at = latest.len() - keep;
        let bulk_end = i64::from(*latest.select_nth_unstable(at).1);
        let allowed = bulk_end + (bulk_end - i64::from(first.0)).max(366);
        // allowed < last, so it fits a day
        (i64::from(last.0) > allowed).then_some(Day(allowed as i32))
    }

    /// How many lines fall on each day: what [`Accumulator::implausible_after`] reads, in a
    /// form that adds up over parts folded apart ([`crate::plausible_end`]).
    pub fn line_days(&self) -> std::collections::BTreeMap<i32, u64> {
        let lines = || self.shards.iter().flat_map(|s| &s.lines);
        let Some((first, last)) = self.day_range() else {
            return std::collections::BTreeMap::new();
        };
        // counted in a list of the days (a map entry per line was a tenth of a part's fold)
        if i64::from(last.0) - i64::from(first.0) < Calendar::MAX_DAYS {
            let mut counts = vec![0u64; (last.0 - first.0) as usize + 1];
            for l in lines() {
                counts[(l.day - first.0) as usize] += 1;
            }
            return (first.0..).zip(counts).filter(|&(_, n)| n > 0).collect();
        }
        let mut days = std::collections::BTreeMap::new();
        for l in lines() {
            *days.entry(l.day).or_insert(0) += 1;
        }
        days
    }

    /// The first and last day of the lines held.
    fn day_range(&self) -> Option<(Day, Day)> {
        let days = self.shards.iter().flat_map(|s| &s.lines).map(|l| l.day);
        let (first, last) = days.fold((i32::MAX, i32::MIN), |(a, b), d| (a.min(d), b.max(d)));
        (first <= last).then_some((Day(first), Day(last)))
    }

    /// `as_of`: rows after it are counted but not aggregated (when known before reading);
    /// `keep_after`: keep those rows' purchase days for a holdout.
    pub fn new(as_of: Option<Day>, keep_after: bool) -> Accumulator {
        Accumulator {
            shards: (0..SHARDS).map(|_| Shard::new(as_of, keep_after)).collect(),
            categories: Names::default(),
            overflow: false,
            kept: None,
            tap: None,
            fold: true,
        }
    }

    /// Also keeps a copy of every buffer folded in, to fold them again at another date: the
    /// fold depends neither on the order of the rows nor on how they were split.
    pub fn keep_rows(mut self) -> Accumulator {
        self.kept = Some(Vec::new());
        self
    }

    /// The buffers kept since [`Accumulator::keep_rows`].
    pub fn take_kept(&mut self) -> Option<Vec<RowBuffer>> {
        self.kept.take()
    }

    /// Makes room for about `rows` more rows, so that each shard's lines are not copied over
    /// and over as they grow: the lines of each shard's share of them, and states for one
    /// customer in two rows (memory reserved and never touched costs nothing).
    pub fn reserve(&mut self, rows: usize) {
        let per_shard = rows / SHARDS;
        for s in &mut self.shards {
            s.lines.reserve(per_shard + per_shard / 8 + 16);
            s.states.reserve(per_shard / 2);
        }
    }

    /// Folds in a buffer of rows.
    pub fn absorb(&mut self, rows: &RowBuffer) {
        if let Some(tap) = &mut self.tap {
            tap.write(rows);
        }
        if !self.fold {
            return;
        }
        if let Some(kept) = &mut self.kept
            && rows.len() > 0
        {
            kept.push(rows.clone());
        }
        let cats = self.categories.numbers_of(&rows.categories);
        self.overflow |= rows.overflow;
        self.shards
            .par_iter_mut()
            .zip(rows.shards.par_iter())
            .for_each(|(shard, packed)| shard.absorb(rows, packed, &cats));
    }

    /// Orders the customers by id and sweeps their lines into the customer table (sorted by
    /// id) and, with `detail`, months, category spend and seasonality. Fills the as-of
    /// accounting of `stats`.
    pub fn finish(self, f: Finish, stats: &mut IngestStats) -> Result<Aggregates, IngestError> {
        // the calendar's days: the input's as read, or (a part folded on its own) its lines'
        let days = match (stats.first_date, stats.last_date) {
            (Some(first), Some(last)) => Some((first, last)),
            _ => self.day_range(),
        };
        let mut shards = self.shards;
        // the smallest id, so the message does not depend on how the reading was split
        let too_large = shards
            .iter()
            .filter_map(|s| s.too_large.map(|(c, sum)| (&s.ids[c as usize], sum)))
            .min_by_key(|&(id, _)| id);
        if let Some((id, sum)) = too_large {
            let (what, column) = sum.words();
            return Err(IngestError::TooLarge(format!(
                "customer `{id}`: the sum of its {what} passes ±9.2e12, the limit of exact \
                 arithmetic (rows are limited to ±1e9 each): check the unit of the {column} \
                 column, or analyze the data in parts"
            )));
        }
        if self.overflow || shards.iter().any(|s| s.overflow) {
            return Err(IngestError::TooLarge(
                "there are more than 4.29 billion purchase lines, or a part of the input holds \
                 more than 4 GiB of customer ids: analyze the data in parts"
                    .into(),
            ));
        }
        for s in &mut shards {
            s.index = HashTable::new();
        }
        let as_of = f.as_of.0;
        stats.used = shards.iter().map(|s| s.used).sum();
        stats.after_as_of = shards.iter().map(|s| s.after).sum();
        let total_micros = shards.iter().map(|s| s.total).sum::<i128>();
        stats.total_amount = total_micros as f64 / MONEY_SCALE;

        // categories and customers in name order, so nothing depends on input order or shards
        let names = self.categories.into_list();
        let mut by_name: Vec<u32> = (0..names.len() as u32).collect();
        by_name.sort_unstable_by(|&a, &b| names[a as usize].cmp(&names[b as usize]));
        let mut cat_rank = vec![0u32; names.len()];
        for (r, &k) in by_name.iter().enumerate() {
            cat_rank[k as usize] = r as u32;
        }
        let categories: Vec<String> = by_name.iter().map(|&k| names[k as usize].clone()).collect();
        let id = |s: u32, c: u32| {
            let sh = &shards[s as usize];
            &sh.ids[c as usize]
        };
        let by_id = |a: &(u64, u32, u32), b: &(u64, u32, u32)| {
            a.0.cmp(&b.0).then_with(|| id(a.1, a.2).cmp(id(b.1, b.2)))
        };
        let mut order: Vec<(u64, u32, u32)> = shards
            .iter()
            .enumerate()
            .flat_map(|(k, sh)| {
                (0..sh.states.len() as u32)
                    .map(move |c| (id_prefix(&sh.ids[c as usize]), k as u32, c))
            })
            .collect();
        order.par_sort_unstable_by(by_id);
        let n = order.len();

        // Each customer's rank by id within its shard; the global order then refers to it.
        let mut ranks: Vec<Vec<u32>> = shards.iter().map(|s| vec![0; s.states.len()]).collect();
        let mut next = vec![0u32; shards.len()];
        let order: Vec<(u32, u32)> = order
            .into_iter()
            .map(|(_, k, c)| {
                let r = next[k as usize];
                next[k as usize] += 1;
                ranks[k as usize][c as usize] = r;
                (k, r)
            })
            .collect();
        let sorted: Vec<Sorted> = shards
            .into_par_iter()
            .zip(ranks.into_par_iter())
            .map(|(sh, rank)| Sorted::new(sh, &rank, &cat_rank))
            .collect();

        // Customers are swept in parallel, a wave of chunks at a time, each chunk appended to
        // the result in id order as soon as the wave is done (so at most one wave is held
        // twice).
        let calendar = Calendar::new(days.map(|d| d.0), days.map(|d| d.1));
        let sweep_chunk = |part: &[(u32, u32)]| {
            let mut sweep = Sweep::new(f, &calendar, part.len());
            let mut near = Near::default();
            for block in part.chunks(GATHER) {
                near.gather(block, &sorted);
                for (i, st) in near.states.iter().enumerate() {
                    let lines =
                        &near.lines[near.line_ends[i] as usize..near.line_ends[i + 1] as usize];
                    let used_end = lines.partition_point(|l| l.day <= as_of);
                    sweep.customer(&near.ids[i], st, &lines[..used_end], &lines[used_end..]);
                }
            }
            sweep
        };
        let mut sweep = Sweep::new(f, &calendar, n);
        let wave = SWEEP_CHUNK * rayon::current_num_threads().max(1);
        for w in order.chunks(wave) {
            let parts: Vec<Sweep> = w.par_chunks(SWEEP_CHUNK).map(sweep_chunk).collect();
            sweep.append(parts);
        }
        stats.return_only_customers = sweep.return_only;
        stats.return_only_amount = sweep.return_only_amount as f64 / MONEY_SCALE;
        let return_only_micros = sweep.return_only_amount;
        let mut agg = sweep.into_aggregates(categories)?;
        agg.total_micros = total_micros;
        agg.return_only_micros = return_only_micros;
        Ok(agg)
    }
}

/// One shard's customers in id order, each one's lines contiguous and sorted by day, with
/// categories renumbered to their global rank by name.
struct Sorted {
    ids: Ids,
    states: Vec<State>,
    /// Customer `r`'s lines are `lines[offsets[r]..offsets[r + 1]]`.
    offsets: Vec<u32>,
    lines: Vec<Line>,
}

impl Sorted {
    /// `rank[c]`: customer `c`'s rank by id within the shard; `cat_rank[k]`: the global rank of
    /// the shard's category `k`.
    fn new(sh: Shard, rank: &[u32], cat_rank: &[u32]) -> Sorted {
        let n = sh.states.len();
        let mut by_rank = vec![0u32; n];
        for (c, &r) in rank.iter().enumerate() {
            by_rank[r as usize] = c as u32;
        }
        let mut ids = Ids::with_capacity(n, sh.ids.bytes());
        let mut states = Vec::with_capacity(n);
        let mut offsets = Vec::with_capacity(n + 1);
        offsets.push(0u32);
        for &c in &by_rank {
            ids.push(&sh.ids[c as usize]);
            let st = sh.states[c as usize];
            offsets.push(offsets[offsets.len() - 1] + st.lines);
            states.push(st);
        }
        drop(by_rank);
        let lines = partition(sh.lines, rank, &offsets, cat_rank);
        Sorted {
            ids,
            states,
            offsets,
            lines,
        }
    }
}

/// Customers per bucket of the first partitioning pass: a bucket's lines then fit in cache
/// for the second.
const BUCKET_CUSTOMERS: usize = 2048;

/// Reorders `lines` so that customer rank `r`'s lines are `offsets[r]..offsets[r + 1]`,
/// sorted by day (stable, so the input order breaks ties), with `customer` set to the rank
/// and categories renumbered by `cat_rank`.
///
/// Two counting passes: first into buckets of `BUCKET_CUSTOMERS` consecutive ranks (a few
/// thousand sequential write streams), then within each bucket, whose lines are in cache. One
/// pass straight to each line's place would miss the cache on nearly every write.
fn partition(lines: Vec<Line>, rank: &[u32], offsets: &[u32], cat_rank: &[u32]) -> Vec<Line> {
    let n = offsets.len() - 1;
    let buckets = n.div_ceil(BUCKET_CUSTOMERS);
    let bucket_start = |b: usize| offsets[(b * BUCKET_CUSTOMERS).min(n)];
    let mut fill: Vec<u32> = (0..buckets).map(bucket_start).collect();
    let mut tmp = vec![Line::default(); lines.len()];
    for &l in &lines {
        let mut l = l;
        let r = rank[l.customer as usize];
        l.customer = r;
        if l.category != NO_CATEGORY {
            l.category = cat_rank[l.category as usize];
        }
        let slot = &mut fill[r as usize / BUCKET_CUSTOMERS];
        tmp[*slot as usize] = l;
        *slot += 1;
    }
    // the input's memory, already paged in, takes the result: fresh memory costs a page
    // fault per 4 KiB, and this buffer is a quarter of those of the whole run
    let mut out = lines;
    let mut next: Vec<u32> = Vec::with_capacity(BUCKET_CUSTOMERS);
    for b in 0..buckets {
        let (lo, hi) = (b * BUCKET_CUSTOMERS, ((b + 1) * BUCKET_CUSTOMERS).min(n));
        next.clear();
        next.extend_from_slice(&offsets[lo..hi]);
        for &l in &tmp[bucket_start(b) as usize..bucket_start(b + 1) as usize] {
            let slot = &mut next[l.customer as usize - lo];
            out[*slot as usize] = l;
            *slot += 1;
        }
        for r in lo..hi {
            // input sorted by date leaves these sorted already
            out[offsets[r] as usize..offsets[r + 1] as usize].sort_by_key(|l| l.day);
        }
    }
    out
}

/// Customers whose data the sweep copies together before working on them.
const GATHER: usize = 256;

/// A few consecutive customers' ids, states and lines, copied out of their shards. Consecutive
/// customers by id come from different shards, so reading them in place waits on memory at
/// every customer; a tight copying loop lets the loads overlap.
#[derive(Default)]
struct Near {
    ids: Ids,
    states: Vec<State>,
    lines: Vec<Line>,
    /// Customer `i`'s lines are `lines[line_ends[i]..line_ends[i + 1]]`.
    line_ends: Vec<u32>,
}

impl Near {
    fn gather(&mut self, block: &[(u32, u32)], sorted: &[Sorted]) {
        self.ids.clear();
        self.states.clear();
        self.lines.clear();
        self.line_ends.clear();
        self.line_ends.push(0);
        for &(k, r) in block {
            let sh = &sorted[k as usize];
            let r = r as usize;
            self.states.push(sh.states[r]);
            self.lines
                .extend_from_slice(&sh.lines[sh.offsets[r] as usize..sh.offsets[r + 1] as usize]);
            self.line_ends.push(self.lines.len() as u32);
            self.ids.push(&sh.ids[r]);
        }
    }
}

/// Customers one thread sweeps at a time. Tiny in debug builds, so that the tests (which
/// compare against the SQL reference on small data) exercise the merging of chunks.
const SWEEP_CHUNK: usize = if cfg!(debug_assertions) { 3 } else { 16 * 1024 };

/// The calendar month of a day: its year, its month (1–12) and the first day of the next
/// month.
#[derive(Debug, Clone, Copy, PartialEq)]
struct MonthOfDay {
    year: i32,
    month: u32,
    end: i32,
}

impl MonthOfDay {
    fn of(day: i32) -> MonthOfDay {
        let (year, month) = Day(day).year_month();
        MonthOfDay {
            year,
            month,
            end: Day(day).next_month_start().0,
        }
    }
}

/// The month of every day of the data, looked up: the sweep asks for the month of each
/// purchase day and of each customer-month, and working it out every time was a tenth of
/// the sweep. A day outside the table (or data spanning more than a century) is worked out.
struct Calendar {
    first: i32,
    days: Vec<MonthOfDay>,
}

impl Calendar {
    /// Days a table covers at most (440 KB).
    const MAX_DAYS: i64 = 100 * 366;

    fn new(first: Option<Day>, last: Option<Day>) -> Calendar {
        let mut days = Vec::new();
        let (first, last) = match (first, last) {
            (Some(a), Some(b)) if a <= b && i64::from(b.0) - i64::from(a.0) < Self::MAX_DAYS => {
                (a.0, b.0)
            }
            _ => return Calendar { first: 0, days },
        };
        let mut d = first;
        while d <= last {
            let m = MonthOfDay::of(d);
            let upto = m.end.min(last.saturating_add(1)).max(d + 1);
            days.extend(std::iter::repeat_n(m, (upto - d) as usize));
            d = upto;
        }
        Calendar { first, days }
    }

    fn month_of(&self, day: i32) -> MonthOfDay {
        let at = usize::try_from(i64::from(day) - i64::from(self.first)).ok();
        match at.and_then(|i| self.days.get(i)) {
            Some(m) => *m,
            None => MonthOfDay::of(day),
        }
    }
}

/// Per-customer work of the final sweep, with its reusable scratch space.
struct Sweep<'a> {
    f: Finish,
    calendar: &'a Calendar,
    c: Cols,
    any_category: bool,
    any_profit: bool,
    any_quantity: bool,
    return_only: u64,
    /// Σ of the return-only customers' net amounts: each fits an i64, their sum may not.
    return_only_amount: i128,
    months: Vec<MonthActivity>,
    category_spend: Vec<CategorySpend>,
    week: [PeriodSums; 7],
    year: [PeriodSums; 12],
    holdout: Vec<f64>,
    orders: Vec<u64>,
    cats: Vec<(u32, u64, i32, bool, i64)>,
}

#[derive(Default)]
struct Cols {
    ids: Ids,
    first: Values<Day>,
    last: Values<Day>,
    recency_days: Values<i64>,
    orders: Values<i64>,
    purchase_days: Values<i64>,
    monetary: Values<f64>,
    aov: Values<f64>,
    frequency: Values<f64>,
    recency: Values<f64>,
    t: Values<f64>,
    monetary_value: Values<f64>,
    categories: Values<i64>,
    top_category: Values<u32>,
    profit: Values<f64>,
    items: Values<f64>,
    returns: Values<i64>,
    return_amount: Values<f64>,
    tenure_days: Values<i64>,
    interpurchase: Values<f64>,
    longest_gap: Values<i64>,
    last_gap: Values<i64>,
}

/// Calls `$m!(cols, field, …)` with every column of [`Cols`], so that per-column code is
/// written once.
macro_rules! each_col {
    ($m:ident, $c:ident) => {
        $m!(
            $c,
            ids,
            first,
            last,
            recency_days,
            orders,
            purchase_days,
            monetary,
            aov,
            frequency,
            recency,
            t,
            monetary_value,
            categories,
            top_category,
            profit,
            items,
            returns,
            return_amount,
            tenure_days,
            interpurchase,
            longest_gap,
            last_gap
        )
    };
}

impl Cols {
    fn with_capacity(n: usize) -> Cols {
        let mut c = Cols::default();
        macro_rules! reserve {
            ($c:ident, $($f:ident),*) => { $( $c.$f.reserve(n); )* };
        }
        each_col!(reserve, c);
        c
    }

    /// Appends the columns of `parts`, in order, one column per task.
    fn append(&mut self, mut parts: Vec<Cols>) {
        let c = self;
        rayon::scope(|scope| {
            macro_rules! spawn {
                ($c:ident, $($f:ident),*) => { $(
                    let srcs: Vec<_> = parts.iter_mut().map(|p| std::mem::take(&mut p.$f)).collect();
                    let dst = &mut $c.$f;
                    scope.spawn(move |_| {
                        for mut s in srcs {
                            dst.append(&mut s);
                        }
                    });
                )* };
            }
            each_col!(spawn, c);
        });
    }
}

fn money(v: i64) -> f64 {
    v as f64 / MONEY_SCALE
}

/// [`money`] of a sum over part of a customer's lines (a day, a month, a category), kept in
/// an `i128`: only the customer's total is checked to fit an `i64`, and a part may not (large
/// purchases on two days with a large return between them).
fn money_wide(v: i128) -> f64 {
    match i64::try_from(v) {
        Ok(v) => money(v),
        Err(_) => money_wider(v),
    }
}

/// [`money_wide`] past an `i64`: the wide conversion is a software routine, which the
/// compiler ran for every value and then threw away while it was written inline.
#[cold]
#[inline(never)]
fn money_wider(v: i128) -> f64 {
    v as f64 / MONEY_SCALE
}

/// Monday = 0 (1970-01-01 was a Thursday).
fn weekday(day: i32) -> usize {
    (i64::from(day) + 3).rem_euclid(7) as usize
}

/// How many distinct values scratch vector `v` holds (its contents are left in any order).
/// Values already in ascending order (order numbers that grow with the date, the usual case)
/// are counted where they are; otherwise sorted and deduplicated.
fn distinct(v: &mut Vec<u64>) -> usize {
    if v.is_sorted() {
        return v
            .first()
            .map_or(0, |_| 1 + v.windows(2).filter(|w| w[0] != w[1]).count());
    }
    v.sort_unstable();
    v.dedup();
    v.len()
}

impl<'a> Sweep<'a> {
    fn new(f: Finish, calendar: &'a Calendar, customers: usize) -> Sweep<'a> {
        Sweep {
            f,
            calendar,
            c: Cols::with_capacity(customers),
            any_category: false,
            any_profit: false,
            any_quantity: false,
            return_only: 0,
            return_only_amount: 0,
            months: Vec::new(),
            category_spend: Vec::new(),
            week: [PeriodSums::default(); 7],
            year: [PeriodSums::default(); 12],
            holdout: if f.holdout_end.is_some() {
                Vec::with_capacity(customers)
            } else {
                Vec::new()
            },
            orders: Vec::new(),
            cats: Vec::new(),
        }
    }

    /// One customer: `used` are the lines up to as-of, `later` the lines after it, both by day.
    fn customer(&mut self, id: &str, st: &State, used: &[Line], later: &[Line]) {
        if used.is_empty() {
            return; // only rows after as-of: not a customer at as-of
        }
        let f = self.f;
        // purchase days: days with a non-negative row; their net amounts; gaps between them
        let (mut first, mut last) = (None::<i32>, None::<i32>);
        let (mut days, mut day_amount_sum, mut first_amount) = (0i64, 0i128, 0i128);
        let (mut longest, mut last_gap) = (None::<i64>, None::<i64>);
        let (mut week_seen, mut month_seen) = (0u8, 0u16);
        // calendar periods with a purchase: count, last index, net amounts (first, sum)
        let (mut periods, mut last_period) = (0i64, None::<i64>);
        let (mut period_amount_sum, mut first_period_amount) = (0i128, 0i128);
        let mut i = 0;
        while i < used.len() {
            let d = used[i].day;
            let j = i + used[i..].iter().take_while(|l| l.day == d).count();
            let amount: i128 = used[i..j].iter().map(|l| i128::from(l.amount)).sum();
            let purchase = used[i..j].iter().any(Line::nonneg);
            if f.detail {
                let (wd, m) = (weekday(d), self.calendar.month_of(d).month as usize - 1);
                self.week[wd].revenue_micros += amount;
                self.year[m].revenue_micros += amount;
                week_seen |= 1 << wd;
                month_seen |= 1 << m;
                if purchase {
                    self.week[wd].occasions += 1;
                    self.year[m].occasions += 1;
                }
            }
            if purchase {
                if let Some(prev) = last {
                    let gap = i64::from(d - prev);
                    longest = Some(longest.map_or(gap, |g| g.max(gap)));
                    last_gap = Some(gap);
                } else {
                    first = Some(d);
                    first_amount = amount;
                }
                last = Some(d);
                days += 1;
                day_amount_sum += amount;
                if let Some(unit) = f.calendar {
                    let p = unit.period_of(Day(d));
                    if last_period != Some(p) {
                        periods += 1;
                        last_period = Some(p);
                    }
                    if periods == 1 {
                        first_period_amount += amount;
                    }
                    period_amount_sum += amount;
                }
            }
            i = j;
        }
        if f.detail {
            for (wd, s) in self.week.iter_mut().enumerate() {
                s.customers += u64::from(week_seen >> wd & 1);
            }
            for (m, s) in self.year.iter_mut().enumerate() {
                s.customers += u64::from(month_seen >> m & 1);
            }
        }
        let (Some(first), Some(last)) = (first, last) else {
            self.return_only += 1;
            self.return_only_amount += i128::from(st.monetary);
            return;
        };
        let row = self.c.ids.len() as u32;

        // distinct orders of purchase rows (purchase days when there are no order ids)
        self.orders.clear();
        self.orders.extend(
            used.iter()
                .filter(|l| l.nonneg() && l.order != NO_ORDER)
                .map(|l| l.order),
        );
        let order_ids = distinct(&mut self.orders) as i64;
        let orders = if order_ids > 0 { order_ids } else { days };

        // categories: distinct, the top one by net amount (ties: first by name), spend
        self.cats.clear();
        self.cats.extend(
            used.iter()
                .filter(|l| l.category != NO_CATEGORY)
                .map(|l| (l.category, l.order, l.day, l.nonneg(), l.amount)),
        );
        self.cats.sort_unstable();
        let (mut n_categories, mut top) = (0i64, None::<(i128, u32)>);
        let mut i = 0;
        while i < self.cats.len() {
            let k = self.cats[i].0;
            let j = i + self.cats[i..].iter().take_while(|x| x.0 == k).count();
            let group = &self.cats[i..j];
            let revenue: i128 = group.iter().map(|x| i128::from(x.4)).sum();
            n_categories += 1;
            if top.is_none_or(|(best, _)| revenue > best) {
                top = Some((revenue, k));
            }
            if f.detail {
                // sorted by (order, day): count changes among purchase rows
                let mut o = 0u32;
                let mut prev = None;
                for x in group.iter().filter(|x| x.3 && x.1 != NO_ORDER) {
                    if prev != Some(x.1) {
                        o += 1;
                        prev = Some(x.1);
                    }
                }
                if o == 0 {
                    let mut ds: Vec<i32> = group.iter().filter(|x| x.3).map(|x| x.2).collect();
                    ds.sort_unstable();
                    ds.dedup();
                    o = ds.len() as u32;
                }
                self.category_spend.push(CategorySpend {
                    customer: row,
                    category: k,
                    revenue: money_wide(revenue),
                    orders: o,
                });
            }
            i = j;
        }

        if f.detail {
            let mut i = 0;
            while i < used.len() {
                let ym = self.calendar.month_of(used[i].day);
                // lines are by day: the month's run ends at the next month's first day
                let j = i + used[i..].iter().take_while(|l| l.day < ym.end).count();
                let month = &used[i..j];
                let revenue: i128 = month.iter().map(|l| i128::from(l.amount)).sum();
                self.orders.clear();
                self.orders.extend(
                    month
                        .iter()
                        .filter(|l| l.nonneg() && l.order != NO_ORDER)
                        .map(|l| l.order),
                );
                let mut o = distinct(&mut self.orders) as u32;
                if o == 0 {
                    let mut prev = None;
                    for l in month.iter().filter(|l| l.nonneg()) {
                        if prev != Some(l.day) {
                            o += 1;
                            prev = Some(l.day);
                        }
                    }
                }
                self.months.push(MonthActivity {
                    customer: row,
                    year: ym.year,
                    month: ym.month,
                    revenue: money_wide(revenue),
                    orders: o,
                });
                i = j;
            }
        }

        if let Some(end) = f.holdout_end {
            let mut n = 0u32;
            let mut prev = None;
            // calendar periods: the periods after the as-of date's (which calibration counted)
            let key = |d: i32| f.calendar.map_or(i64::from(d), |u| u.period_of(Day(d)));
            let after = f.calendar.map(|u| u.period_of(f.as_of));
            for l in later.iter().filter(|l| l.day <= end.0 && l.nonneg()) {
                let k = key(l.day);
                if prev != Some(k) && after.is_none_or(|a| k > a) {
                    n += 1;
                    prev = Some(k);
                }
            }
            self.holdout.push(f64::from(n));
        }

        let as_of = f.as_of.0;
        let c = &mut self.c;
        let m = money(st.monetary);
        c.ids.push(id);
        c.first.push(Some(Day(first)));
        c.last.push(Some(Day(last)));
        c.recency_days
            .push(Some(i64::from(as_of) - i64::from(last)));
        c.orders.push(Some(orders));
        c.purchase_days.push(Some(days));
        c.monetary.push(Some(m));
        c.aov.push(Some(m / orders as f64));
        if let Some(unit) = f.calendar {
            let (p0, p1, pn) = (
                unit.period_of(Day(first)),
                unit.period_of(Day(last)),
                unit.period_of(Day(as_of)),
            );
            c.frequency.push(Some((periods - 1) as f64));
            c.recency.push(Some((p1 - p0) as f64));
            c.t.push(Some((pn - p0) as f64));
            c.monetary_value.push(Some(if periods > 1 {
                money_wide(period_amount_sum - first_period_amount) / (periods - 1) as f64
            } else {
                0.0
            }));
        } else {
            c.frequency.push(Some((days - 1) as f64));
            c.recency
                .push(Some((f64::from(last) - f64::from(first)) / f.unit_days));
            c.t.push(Some((f64::from(as_of) - f64::from(first)) / f.unit_days));
            c.monetary_value.push(Some(if days > 1 {
                money_wide(day_amount_sum - first_amount) / (days - 1) as f64
            } else {
                0.0
            }));
        }
        self.any_category |= n_categories > 0;
        c.categories.push(Some(n_categories));
        c.top_category.push(top.map(|t| t.1));
        let (has_profit, has_quantity) = (st.has & HAS_PROFIT != 0, st.has & HAS_QUANTITY != 0);
        self.any_profit |= has_profit;
        c.profit.push(has_profit.then(|| money(st.profit)));
        self.any_quantity |= has_quantity;
        c.items.push(has_quantity.then(|| money(st.items)));
        c.returns.push(Some(i64::from(st.returns)));
        c.return_amount.push(Some(money(st.return_amount)));
        c.tenure_days
            .push(Some(i64::from(as_of) - i64::from(first)));
        c.interpurchase
            .push((days > 1).then(|| (f64::from(last) - f64::from(first)) / (days - 1) as f64));
        c.longest_gap.push(longest);
        c.last_gap.push(last_gap);
    }

    /// Appends the next customers' results (`o` swept the customers right after these).
    fn append(&mut self, parts: Vec<Sweep>) {
        let mut cols = Vec::with_capacity(parts.len());
        let (mut months, mut spend) = (Vec::new(), Vec::new());
        let mut offset = self.c.ids.len() as u32;
        for mut p in parts {
            let rows = p.c.ids.len() as u32;
            cols.push(std::mem::take(&mut p.c));
            months.push((offset, std::mem::take(&mut p.months)));
            spend.push((offset, std::mem::take(&mut p.category_spend)));
            self.append_totals(p);
            offset += rows;
        }
        // months and category spend beside the columns: copied on this thread alone, they
        // held up every wave of the sweep
        let (all_months, all_spend) = (&mut self.months, &mut self.category_spend);
        rayon::join(
            || self.c.append(cols),
            || {
                for (offset, part) in months {
                    all_months.extend(part.into_iter().map(|mut m| {
                        m.customer += offset;
                        m
                    }));
                }
                for (offset, part) in spend {
                    all_spend.extend(part.into_iter().map(|mut s| {
                        s.customer += offset;
                        s
                    }));
                }
            },
        );
    }

    /// Appends the totals of `o` (its columns, months and category spend go separately).
    fn append_totals(&mut self, o: Sweep) {
        self.any_category |= o.any_category;
        self.any_profit |= o.any_profit;
        self.any_quantity |= o.any_quantity;
        self.return_only += o.return_only;
        self.return_only_amount += o.return_only_amount;
        for (a, b) in self
            .week
            .iter_mut()
            .chain(&mut self.year)
            .zip(o.week.iter().chain(&o.year))
        {
            a.add(b);
        }
        self.holdout.extend(o.holdout);
    }

    fn into_aggregates(self, categories: Vec<String>) -> Result<Aggregates, IngestError> {
        let Sweep {
            f,
            c,
            any_category,
            any_profit,
            any_quantity,
            months,
            mut category_spend,
            week,
            year,
            holdout,
            ..
        } = self;
        let mut table = CustomerTable::from_ids(c.ids);
        let mut push = |name: &str, data: ColumnData| {
            table
                .push(name, data)
                .map_err(|e| IngestError::Engine(e.to_string()))
        };
        push(col::FIRST_PURCHASE, ColumnData::Date(c.first))?;
        push(col::LAST_PURCHASE, ColumnData::Date(c.last))?;
        push(col::RECENCY_DAYS, ColumnData::Int(c.recency_days))?;
        push(col::ORDERS, ColumnData::Int(c.orders))?;
        push(col::PURCHASE_DAYS, ColumnData::Int(c.purchase_days))?;
        push(col::MONETARY, ColumnData::Float(c.monetary))?;
        push(col::AVG_ORDER_VALUE, ColumnData::Float(c.aov))?;
        push("frequency", ColumnData::Float(c.frequency))?;
        push("recency", ColumnData::Float(c.recency))?;
        push("T", ColumnData::Float(c.t))?;
        push("monetary_value", ColumnData::Float(c.monetary_value))?;
        if any_category {
            push("categories", ColumnData::Int(c.categories))?;
            // codes into the category names: no string per customer
            let top = Texts::from_codes(categories.clone(), c.top_category.iter())
                .ok_or_else(|| IngestError::Engine("a top category out of range".into()))?;
            push(col::TOP_CATEGORY, ColumnData::Text(top))?;
        }
        if any_profit {
            push("profit", ColumnData::Float(c.profit))?;
        }
        if any_quantity {
            push("items", ColumnData::Float(c.items))?;
        }
        push("returns", ColumnData::Int(c.returns))?;
        push("return_amount", ColumnData::Float(c.return_amount))?;
        push("tenure_days", ColumnData::Int(c.tenure_days))?;
        push("avg_interpurchase_days", ColumnData::Float(c.interpurchase))?;
        push("longest_gap_days", ColumnData::Int(c.longest_gap))?;
        push("last_gap_days", ColumnData::Int(c.last_gap))?;
        let (categories, seasonality) = if f.detail {
            // only categories that some customer's spend refers to, still in name order
            let mut referenced = vec![false; categories.len()];
            for s in &category_spend {
                referenced[s.category as usize] = true;
            }
            let mut remap = vec![0u32; categories.len()];
            let mut names = Vec::new();
            for (k, name) in categories.into_iter().enumerate() {
                if referenced[k] {
                    remap[k] = names.len() as u32;
                    names.push(name);
                }
            }
            for s in &mut category_spend {
                s.category = remap[s.category as usize];
            }
            (names, Some((week, year)))
        } else {
            (Vec::new(), None)
        };
        Ok(Aggregates {
            table,
            months,
            category_spend,
            categories,
            seasonality,
            holdout: f.holdout_end.map(|_| holdout),
            total_micros: 0,
            return_only_micros: 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distinct values counted where they are when ascending, sorted otherwise: the count
    /// of a set either way; a wide sum past an `i64` still converts.
    #[test]
    fn distinct_values_and_wide_money_are_counted_and_converted_either_way() {
        let set = |v: &[u64]| v.iter().collect::<std::collections::BTreeSet<_>>().len();
        for v in [
            vec![],
            vec![7],
            vec![1, 1, 2, 3, 3, 3, 9],
            vec![3, 1, 2, 1],
            vec![5, 5, 5],
            vec![2, 9, 9, 4],
        ] {
            assert_eq!(distinct(&mut v.clone()), set(&v), "{v:?}");
        }
        assert_eq!(money_wide(1_234_567), money(1_234_567));
        let wide = i128::from(i64::MAX) * 4;
        assert_eq!(money_wide(wide), wide as f64 / MONEY_SCALE);
        assert_eq!(money_wide(-wide), -(wide as f64) / MONEY_SCALE);
    }

    /// The lines per day, counted in a list of the days (or, over more than a century, a
    /// map), are those of counting each line; a part's calendar covers its lines' days.
    #[test]
    fn lines_per_day_are_counted_line_by_line() {
        for days in [vec![5, 3, 5, 400, -2, 5], vec![0, 50_000, 0, -7], vec![]] {
            let mut acc = Accumulator::new(None, false);
            for (i, &day) in days.iter().enumerate() {
                let id = format!("c{}", i % 3);
                acc.absorb(&crate::transactions::one_row(&id, day, i as u64));
            }
            let mut want = std::collections::BTreeMap::new();
            for &d in &days {
                *want.entry(d).or_insert(0u64) += 1;
            }
            assert_eq!(acc.line_days(), want, "{days:?}");
            let range =
                (days.iter().min().map(|&d| Day(d))).zip(days.iter().max().map(|&d| Day(d)));
            assert_eq!(acc.day_range(), range, "{days:?}");
        }
    }

    #[test]
    fn the_calendar_table_gives_the_months_worked_out() {
        // leap years, a century, month ends, and days on either side of the table
        let (first, last) = (
            Day::parse_iso("1999-11-17").unwrap(),
            Day::parse_iso("2001-03-02").unwrap(),
        );
        let cal = Calendar::new(Some(first), Some(last));
        assert_eq!(cal.days.len(), (last.0 - first.0 + 1) as usize);
        for d in first.0 - 400..=last.0 + 400 {
            let m = cal.month_of(d);
            assert_eq!((m.year, m.month), Day(d).year_month(), "day {d}");
            assert_eq!(m.end, Day(d).next_month_start().0, "day {d}");
        }
        let feb = cal.month_of(Day::parse_iso("2000-02-29").unwrap().0);
        assert_eq!(
            (feb.year, feb.month, Day(feb.end)),
            (2000, 2, Day::parse_iso("2000-03-01").unwrap())
        );
        // no dates, reversed dates or more than a century: every month worked out
        for (a, b) in [
            (None, None),
            (Some(last), Some(first)),
            (Some(Day(0)), Some(Day(40_000))),
        ] {
            let cal = Calendar::new(a, b);
            assert!(cal.days.is_empty());
            assert_eq!(cal.month_of(first.0), MonthOfDay::of(first.0));
        }
    }
}
