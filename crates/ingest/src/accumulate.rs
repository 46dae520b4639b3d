//! The per-customer aggregation, streamed: rows are folded in as they are read, and only what
//! the customer table needs is kept — a small state per customer and one 32-byte line per
//! distinct (customer, day, order, category) — never the rows themselves.
//!
//! Each customer's lines are chained (every line points to the customer's previous one), so at
//! the end the customers are visited in id order, each one's lines gathered and sorted by day,
//! and one sweep gives purchase days, gaps, distinct orders and categories, months, category
//! spend and seasonality exactly, whatever the order of the input. Money stays in integer micro-units throughout, so every sum
//! is exact and independent of row order and of how the reading was split.

use std::collections::HashMap;

use clientele_core::{ColumnData, CustomerTable, Day};
use hashbrown::HashTable;
use rayon::iter::{
    IndexedParallelIterator, IntoParallelRefIterator, IntoParallelRefMutIterator, ParallelIterator,
};
use rayon::slice::{ParallelSlice, ParallelSliceMut};

use crate::transactions::{MONEY_SCALE, NO_CATEGORY, NO_ORDER, NO_VALUE, RowBuffer, id_hash};
use crate::{CategorySpend, IngestError, IngestStats, MonthActivity, PeriodTotals};

/// `Line::flags`: at least one row of the line has a non-negative amount (a purchase, not
/// only a return).
const NONNEG: u32 = 1;
/// End of a customer's chain of lines.
const NO_LINE: u32 = u32::MAX;

/// Rows of one customer on one day with one order id and one category, summed.
#[derive(Debug, Clone, Copy)]
struct Line {
    /// The customer's previous line, or `NO_LINE`.
    prev: u32,
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
    profit_rows: u32,
    quantity_rows: u32,
    returns: u32,
    /// The customer's latest line (head of its chain), which a row with the same day, order
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
        profit_rows: 0,
        quantity_rows: 0,
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
    ids: String,
    id_ends: Vec<usize>,
    /// (id prefix, id length, customer): ids of up to 8 bytes are matched without
    /// touching `ids`.
    index: HashTable<(u64, u32, u32)>,
    states: Vec<State>,
    lines: Vec<Line>,
    categories: Vec<String>,
    category_index: HashMap<String, u32>,
    used: u64,
    after: u64,
    total: i128,
    overflow: bool,
}

/// The first 8 bytes of an id, zero-padded, big-endian: comparing these and then, on a tie,
/// the whole ids gives byte-wise string order with most comparisons on integers.
fn id_prefix(id: &str) -> u64 {
    let b = id.as_bytes();
    let mut k = [0u8; 8];
    let n = b.len().min(8);
    k[..n].copy_from_slice(&b[..n]);
    u64::from_be_bytes(k)
}

fn id_at<'a>(ids: &'a str, ends: &[usize], i: u32) -> &'a str {
    let i = i as usize;
    let start = if i == 0 { 0 } else { ends[i - 1] };
    &ids[start..ends[i]]
}

fn add(sum: &mut i64, v: i64, overflow: &mut bool) {
    match sum.checked_add(v) {
        Some(s) => *sum = s,
        None => *overflow = true,
    }
}

/// Everything the sweep produces.
#[derive(Debug)]
pub(crate) struct Aggregates {
    pub table: CustomerTable,
    pub months: Vec<MonthActivity>,
    pub category_spend: Vec<CategorySpend>,
    pub categories: Vec<String>,
    pub seasonality: Option<([PeriodTotals; 7], [PeriodTotals; 12])>,
    pub holdout: Option<Vec<f64>>,
}

/// What `finish` is asked for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Finish {
    pub as_of: Day,
    /// Count holdout purchase days in `(as_of, end]`.
    pub holdout_end: Option<Day>,
    /// Days per unit of the CLV-convention columns.
    pub unit_days: f64,
    /// Months, category spend and seasonality as well.
    pub detail: bool,
}

impl Shard {
    fn new(as_of: Option<Day>, keep_after: bool) -> Shard {
        Shard {
            as_of: as_of.map(|d| d.0),
            keep_after,
            ids: String::new(),
            id_ends: Vec::new(),
            index: HashTable::new(),
            states: Vec::new(),
            lines: Vec::new(),
            categories: Vec::new(),
            category_index: HashMap::new(),
            used: 0,
            after: 0,
            total: 0,
            overflow: false,
        }
    }

    fn intern(&mut self, id: &str, hash: u64) -> usize {
        let (ids, ends) = (&self.ids, &self.id_ends);
        let (prefix, len) = (id_prefix(id), id.len() as u32);
        let same = |&(p, n, c): &(u64, u32, u32)| {
            p == prefix && n == len && (len <= 8 || id_at(ids, ends, c) == id)
        };
        if let Some(&(_, _, c)) = self.index.find(hash, same) {
            return c as usize;
        }
        let c = self.states.len() as u32;
        self.ids.push_str(id);
        self.id_ends.push(self.ids.len());
        let (ids, ends) = (&self.ids, &self.id_ends);
        self.index
            .insert_unique(hash, (prefix, len, c), |&(_, _, c)| {
                id_hash(id_at(ids, ends, c))
            });
        self.states.push(State::NEW);
        c as usize
    }

    fn category(&mut self, name: &str) -> u32 {
        if let Some(&c) = self.category_index.get(name) {
            return c;
        }
        let c = self.categories.len() as u32;
        self.categories.push(name.to_string());
        self.category_index.insert(name.to_string(), c);
        c
    }

    /// Folds in rows `idx` of a buffer.
    fn absorb(&mut self, rows: &RowBuffer, idx: &[u32]) {
        let cats: Vec<u32> = rows.categories.iter().map(|n| self.category(n)).collect();
        for i in idx.iter().map(|&i| i as usize) {
            let (day, amount) = (rows.day[i], rows.amount[i]);
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
            let c = self.intern(rows.id(i), rows.id_hash[i]);
            let mut overflow = false;
            let st = &mut self.states[c];
            if !after {
                add(&mut st.monetary, amount, &mut overflow);
                if amount < 0 {
                    st.returns += 1;
                    add(&mut st.return_amount, -amount, &mut overflow);
                }
                if rows.profit[i] != NO_VALUE {
                    add(&mut st.profit, rows.profit[i], &mut overflow);
                    st.profit_rows += 1;
                }
                if rows.quantity[i] != NO_VALUE {
                    add(&mut st.items, rows.quantity[i], &mut overflow);
                    st.quantity_rows += 1;
                }
            }
            let category = match rows.category[i] {
                NO_CATEGORY => NO_CATEGORY,
                k => cats[k as usize],
            };
            let order = rows.order[i];
            let flags = if amount >= 0 { NONNEG } else { 0 };
            if st.last_line != NO_LINE
                && st.last_day == day
                && st.last_category == category
                && st.last_order == order
                && let Some(l) = self.lines.get_mut(st.last_line as usize)
            {
                add(&mut l.amount, amount, &mut overflow);
                l.flags |= flags;
            } else {
                let n = self.lines.len();
                if n >= NO_LINE as usize {
                    self.overflow = true;
                    continue;
                }
                self.lines.push(Line {
                    prev: st.last_line,
                    day,
                    category,
                    flags,
                    amount,
                    order,
                });
                st.last_line = n as u32;
                st.last_day = day;
                st.last_category = category;
                st.last_order = order;
            }
            self.overflow |= overflow;
        }
    }
}

/// Folds validated rows into per-customer state, sharded by customer-id hash so that each
/// thread folds its own customers (results do not depend on the number of shards).
#[derive(Debug)]
pub(crate) struct Accumulator {
    shards: Vec<Shard>,
    /// Row indexes per shard (reused).
    split: Vec<Vec<u32>>,
}

impl Accumulator {
    /// `as_of`: rows after it are counted but not aggregated (when known before reading);
    /// `keep_after`: keep those rows' purchase days for a holdout.
    pub fn new(as_of: Option<Day>, keep_after: bool) -> Accumulator {
        // several shards in debug builds, so the tests exercise the merge on any machine
        let n = if cfg!(debug_assertions) {
            3
        } else {
            rayon::current_num_threads().clamp(1, 64)
        };
        Accumulator {
            shards: (0..n).map(|_| Shard::new(as_of, keep_after)).collect(),
            split: vec![Vec::new(); n],
        }
    }

    /// Folds in a buffer of rows, each shard on its own thread.
    pub fn absorb(&mut self, rows: &RowBuffer) {
        let n = self.shards.len();
        if n == 1 {
            let all: Vec<u32> = (0..rows.len() as u32).collect();
            self.shards[0].absorb(rows, &all);
            return;
        }
        for s in &mut self.split {
            s.clear();
        }
        for (i, h) in rows.id_hash.iter().enumerate() {
            self.split[((h >> 32) % n as u64) as usize].push(i as u32);
        }
        self.shards
            .par_iter_mut()
            .zip(self.split.par_iter())
            .for_each(|(shard, idx)| shard.absorb(rows, idx));
    }

    /// Orders the customers by id and sweeps their lines into the customer table (sorted by
    /// id) and, with `detail`, months, category spend and seasonality. Fills the as-of
    /// accounting of `stats`.
    pub fn finish(self, f: Finish, stats: &mut IngestStats) -> Result<Aggregates, IngestError> {
        let mut shards = self.shards;
        if shards.iter().any(|s| s.overflow) {
            return Err(IngestError::Engine(
                "a customer's sum of amounts, profit or quantity exceeds ±9.2e12, or there are \
                 more than 4.29 billion purchase lines; check the amount column's unit or \
                 analyze the data in parts"
                    .into(),
            ));
        }
        for s in &mut shards {
            s.index = HashTable::new();
        }
        let as_of = f.as_of.0;
        stats.used = shards.iter().map(|s| s.used).sum();
        stats.after_as_of = shards.iter().map(|s| s.after).sum();
        stats.total_amount = shards.iter().map(|s| s.total).sum::<i128>() as f64 / MONEY_SCALE;

        // categories and customers in name order, so nothing depends on input order or shards
        let mut categories: Vec<String> = shards
            .iter()
            .flat_map(|s| s.categories.iter().cloned())
            .collect();
        categories.sort_unstable();
        categories.dedup();
        let cat_rank: Vec<Vec<u32>> = shards
            .iter()
            .map(|s| {
                s.categories
                    .iter()
                    .map(|c| categories.binary_search(c).map_or(0, |r| r as u32))
                    .collect()
            })
            .collect();
        let id = |s: u32, c: u32| {
            let sh = &shards[s as usize];
            id_at(&sh.ids, &sh.id_ends, c)
        };
        let by_id = |a: &(u64, u32, u32), b: &(u64, u32, u32)| {
            a.0.cmp(&b.0).then_with(|| id(a.1, a.2).cmp(id(b.1, b.2)))
        };
        let mut order: Vec<(u64, u32, u32)> = shards
            .iter()
            .enumerate()
            .flat_map(|(k, sh)| {
                (0..sh.states.len() as u32)
                    .map(move |c| (id_prefix(id_at(&sh.ids, &sh.id_ends, c)), k as u32, c))
            })
            .collect();
        order.par_sort_unstable_by(by_id);
        let n = order.len();

        // Customers are swept in parallel, a wave of chunks at a time, each chunk appended to
        // the result in id order as soon as the wave is done (so at most one wave is held
        // twice).
        let sweep_chunk = |part: &[(u64, u32, u32)]| {
            let mut sweep = Sweep::new(f, part.len());
            let mut mine: Vec<Line> = Vec::new();
            for &(_, k, c) in part {
                let (sh, rank) = (&shards[k as usize], &cat_rank[k as usize]);
                let st = &sh.states[c as usize];
                mine.clear();
                let mut i = st.last_line;
                while let Some(l) = sh.lines.get(i as usize) {
                    let mut l = *l;
                    i = l.prev;
                    if l.category != NO_CATEGORY {
                        l.category = rank[l.category as usize];
                    }
                    mine.push(l);
                }
                // the chain runs backwards; input sorted by date gives an already sorted slice
                mine.reverse();
                mine.sort_by_key(|l| l.day);
                let used_end = mine.partition_point(|l| l.day <= as_of);
                sweep.customer(
                    id_at(&sh.ids, &sh.id_ends, c),
                    st,
                    &mine[..used_end],
                    &mine[used_end..],
                );
            }
            sweep
        };
        let mut sweep = Sweep::new(f, n);
        sweep.c.reserve(n);
        let wave = SWEEP_CHUNK * rayon::current_num_threads().max(1);
        for w in order.chunks(wave) {
            let parts: Vec<Sweep> = w.par_chunks(SWEEP_CHUNK).map(sweep_chunk).collect();
            for p in parts {
                sweep.append(p);
            }
        }
        stats.return_only_customers = sweep.return_only;
        stats.return_only_amount = sweep.return_only_amount as f64 / MONEY_SCALE;
        sweep.into_aggregates(categories)
    }
}

/// Customers one thread sweeps at a time. Tiny in debug builds, so that the tests (which
/// compare against the SQL reference on small data) exercise the merging of chunks.
const SWEEP_CHUNK: usize = if cfg!(debug_assertions) { 3 } else { 16 * 1024 };

/// Per-customer work of the final sweep, with its reusable scratch space.
struct Sweep {
    f: Finish,
    c: Cols,
    any_category: bool,
    any_profit: bool,
    any_quantity: bool,
    return_only: u64,
    return_only_amount: i64,
    months: Vec<MonthActivity>,
    category_spend: Vec<CategorySpend>,
    week: [Season; 7],
    year: [Season; 12],
    holdout: Vec<f64>,
    orders: Vec<u64>,
    cats: Vec<(u32, u64, i32, bool, i64)>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Season {
    revenue: i128,
    occasions: u64,
    customers: u64,
}

#[derive(Default)]
struct Cols {
    ids: Vec<String>,
    first: Vec<Option<Day>>,
    last: Vec<Option<Day>>,
    recency_days: Vec<Option<i64>>,
    orders: Vec<Option<i64>>,
    purchase_days: Vec<Option<i64>>,
    monetary: Vec<Option<f64>>,
    aov: Vec<Option<f64>>,
    frequency: Vec<Option<f64>>,
    recency: Vec<Option<f64>>,
    t: Vec<Option<f64>>,
    monetary_value: Vec<Option<f64>>,
    categories: Vec<Option<i64>>,
    top_category: Vec<Option<u32>>,
    profit: Vec<Option<f64>>,
    items: Vec<Option<f64>>,
    returns: Vec<Option<i64>>,
    return_amount: Vec<Option<f64>>,
    tenure_days: Vec<Option<i64>>,
    interpurchase: Vec<Option<f64>>,
    longest_gap: Vec<Option<i64>>,
    last_gap: Vec<Option<i64>>,
}

impl Cols {
    fn reserve(&mut self, n: usize) {
        self.ids.reserve(n);
        self.first.reserve(n);
        self.last.reserve(n);
        self.recency_days.reserve(n);
        self.orders.reserve(n);
        self.purchase_days.reserve(n);
        self.monetary.reserve(n);
        self.aov.reserve(n);
        self.frequency.reserve(n);
        self.recency.reserve(n);
        self.t.reserve(n);
        self.monetary_value.reserve(n);
        self.categories.reserve(n);
        self.top_category.reserve(n);
        self.profit.reserve(n);
        self.items.reserve(n);
        self.returns.reserve(n);
        self.return_amount.reserve(n);
        self.tenure_days.reserve(n);
        self.interpurchase.reserve(n);
        self.longest_gap.reserve(n);
        self.last_gap.reserve(n);
    }

    fn append(&mut self, o: Cols) {
        self.ids.extend(o.ids);
        self.first.extend(o.first);
        self.last.extend(o.last);
        self.recency_days.extend(o.recency_days);
        self.orders.extend(o.orders);
        self.purchase_days.extend(o.purchase_days);
        self.monetary.extend(o.monetary);
        self.aov.extend(o.aov);
        self.frequency.extend(o.frequency);
        self.recency.extend(o.recency);
        self.t.extend(o.t);
        self.monetary_value.extend(o.monetary_value);
        self.categories.extend(o.categories);
        self.top_category.extend(o.top_category);
        self.profit.extend(o.profit);
        self.items.extend(o.items);
        self.returns.extend(o.returns);
        self.return_amount.extend(o.return_amount);
        self.tenure_days.extend(o.tenure_days);
        self.interpurchase.extend(o.interpurchase);
        self.longest_gap.extend(o.longest_gap);
        self.last_gap.extend(o.last_gap);
    }
}

fn money(v: i64) -> f64 {
    v as f64 / MONEY_SCALE
}

/// Monday = 0 (1970-01-01 was a Thursday).
fn weekday(day: i32) -> usize {
    (day + 3).rem_euclid(7) as usize
}

/// Distinct values of a sorted-then-deduplicated scratch vector.
fn distinct(v: &mut Vec<u64>) -> usize {
    v.sort_unstable();
    v.dedup();
    v.len()
}

impl Sweep {
    fn new(f: Finish, customers: usize) -> Sweep {
        Sweep {
            f,
            c: Cols::default(),
            any_category: false,
            any_profit: false,
            any_quantity: false,
            return_only: 0,
            return_only_amount: 0,
            months: Vec::new(),
            category_spend: Vec::new(),
            week: [Season::default(); 7],
            year: [Season::default(); 12],
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
        let (mut days, mut day_amount_sum, mut first_amount) = (0i64, 0i64, 0i64);
        let (mut longest, mut last_gap) = (None::<i64>, None::<i64>);
        let (mut week_seen, mut month_seen) = (0u8, 0u16);
        let mut i = 0;
        while i < used.len() {
            let d = used[i].day;
            let j = i + used[i..].iter().take_while(|l| l.day == d).count();
            let amount: i64 = used[i..j].iter().map(|l| l.amount).sum();
            let purchase = used[i..j].iter().any(Line::nonneg);
            if f.detail {
                let (wd, m) = (weekday(d), Day(d).year_month().1 as usize - 1);
                self.week[wd].revenue += i128::from(amount);
                self.year[m].revenue += i128::from(amount);
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
            self.return_only_amount += st.monetary;
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
        let (mut n_categories, mut top) = (0i64, None::<(i64, u32)>);
        let mut i = 0;
        while i < self.cats.len() {
            let k = self.cats[i].0;
            let j = i + self.cats[i..].iter().take_while(|x| x.0 == k).count();
            let group = &self.cats[i..j];
            let revenue: i64 = group.iter().map(|x| x.4).sum();
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
                    revenue: money(revenue),
                    orders: o,
                });
            }
            i = j;
        }

        if f.detail {
            let mut i = 0;
            while i < used.len() {
                let ym = Day(used[i].day).year_month();
                let j = i + used[i..]
                    .iter()
                    .take_while(|l| Day(l.day).year_month() == ym)
                    .count();
                let month = &used[i..j];
                let revenue: i64 = month.iter().map(|l| l.amount).sum();
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
                    year: ym.0,
                    month: ym.1,
                    revenue: money(revenue),
                    orders: o,
                });
                i = j;
            }
        }

        if let Some(end) = f.holdout_end {
            let mut n = 0u32;
            let mut prev = None;
            for l in later.iter().filter(|l| l.day <= end.0 && l.nonneg()) {
                if prev != Some(l.day) {
                    n += 1;
                    prev = Some(l.day);
                }
            }
            self.holdout.push(f64::from(n));
        }

        let as_of = f.as_of.0;
        let c = &mut self.c;
        let m = money(st.monetary);
        c.ids.push(id.to_string());
        c.first.push(Some(Day(first)));
        c.last.push(Some(Day(last)));
        c.recency_days.push(Some(i64::from(as_of - last)));
        c.orders.push(Some(orders));
        c.purchase_days.push(Some(days));
        c.monetary.push(Some(m));
        c.aov.push(Some(m / orders as f64));
        c.frequency.push(Some((days - 1) as f64));
        c.recency.push(Some(f64::from(last - first) / f.unit_days));
        c.t.push(Some(f64::from(as_of - first) / f.unit_days));
        c.monetary_value.push(Some(if days > 1 {
            money(day_amount_sum - first_amount) / (days - 1) as f64
        } else {
            0.0
        }));
        self.any_category |= n_categories > 0;
        c.categories.push(Some(n_categories));
        c.top_category.push(top.map(|t| t.1));
        self.any_profit |= st.profit_rows > 0;
        c.profit
            .push((st.profit_rows > 0).then(|| money(st.profit)));
        self.any_quantity |= st.quantity_rows > 0;
        c.items
            .push((st.quantity_rows > 0).then(|| money(st.items)));
        c.returns.push(Some(i64::from(st.returns)));
        c.return_amount.push(Some(money(st.return_amount)));
        c.tenure_days.push(Some(i64::from(as_of - first)));
        c.interpurchase
            .push((days > 1).then(|| f64::from(last - first) / (days - 1) as f64));
        c.longest_gap.push(longest);
        c.last_gap.push(last_gap);
    }

    /// Appends the next customers' results (`o` swept the customers right after these).
    fn append(&mut self, o: Sweep) {
        let offset = self.c.ids.len() as u32;
        self.c.append(o.c);
        self.any_category |= o.any_category;
        self.any_profit |= o.any_profit;
        self.any_quantity |= o.any_quantity;
        self.return_only += o.return_only;
        self.return_only_amount += o.return_only_amount;
        self.months.extend(o.months.into_iter().map(|mut m| {
            m.customer += offset;
            m
        }));
        self.category_spend
            .extend(o.category_spend.into_iter().map(|mut s| {
                s.customer += offset;
                s
            }));
        for (a, b) in self
            .week
            .iter_mut()
            .chain(&mut self.year)
            .zip(o.week.iter().chain(&o.year))
        {
            a.revenue += b.revenue;
            a.occasions += b.occasions;
            a.customers += b.customers;
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
        let mut table = CustomerTable::new(c.ids);
        let mut push = |name: &str, data: ColumnData| {
            table
                .push(name, data)
                .map_err(|e| IngestError::Engine(e.to_string()))
        };
        push("first_purchase", ColumnData::Date(c.first))?;
        push("last_purchase", ColumnData::Date(c.last))?;
        push("recency_days", ColumnData::Int(c.recency_days))?;
        push("orders", ColumnData::Int(c.orders))?;
        push("purchase_days", ColumnData::Int(c.purchase_days))?;
        push("monetary", ColumnData::Float(c.monetary))?;
        push("avg_order_value", ColumnData::Float(c.aov))?;
        push("frequency", ColumnData::Float(c.frequency))?;
        push("recency", ColumnData::Float(c.recency))?;
        push("T", ColumnData::Float(c.t))?;
        push("monetary_value", ColumnData::Float(c.monetary_value))?;
        if any_category {
            push("categories", ColumnData::Int(c.categories))?;
            let top = c
                .top_category
                .into_iter()
                .map(|k| k.map(|k| categories[k as usize].clone()))
                .collect();
            push("top_category", ColumnData::Text(top))?;
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
        let period = |s: &Season| PeriodTotals {
            revenue: s.revenue as f64 / MONEY_SCALE,
            orders: s.occasions,
            customers: s.customers,
        };
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
            (
                names,
                Some((week.each_ref().map(period), year.each_ref().map(period))),
            )
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
        })
    }
}
