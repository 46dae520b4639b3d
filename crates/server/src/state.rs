//! The analyses being served, loaded once into memory as typed columns, with the indexes and
//! caches that make a lookup and a page cheap at millions of customers.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use clientele_core::{ColumnData, CustomerTable, Lang};
pub use clientele_engine::Selection;
use clientele_engine::{EngineError, GroupingSummary, Sort, StoredRun, Vocabulary, groupings};
use serde_json::Value;

use crate::ApiError;

/// Filtered selections kept per run, most recent first: paging through a list re-uses its
/// selection instead of filtering millions of customers again.
const SELECTIONS_KEPT: usize = 16;
/// Sort orders of the whole table kept per run (4 bytes per customer each).
const ORDERS_KEPT: usize = 6;

/// Row lists kept by key, most recent first.
type RowCache = Mutex<VecDeque<(String, Arc<Vec<u32>>)>>;

/// One finished analysis as served.
pub struct Served {
    /// Its name in URLs: the folder's name (made unique among the served runs).
    pub name: String,
    /// The run as read from its folder.
    pub run: StoredRun,
    /// Every grouping with its groups' sizes and value.
    pub groupings: Vec<GroupingSummary>,
    /// Group names in both languages.
    pub vocab: Vocabulary,
    /// Scores posted customers with this run's models and rules, when the run allows it.
    pub scorer: Option<clientele_engine::Scorer>,
    /// How long loading took, step by step (seconds), for the operator.
    pub load_steps: Vec<(&'static str, f64)>,
    /// Rows ordered by customer id, for lookups by binary search (4 bytes per customer,
    /// a tenth of a hash map's).
    by_id: Vec<u32>,
    selections: RowCache,
    orders: RowCache,
}

impl std::fmt::Debug for Served {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Served")
            .field("name", &self.name)
            .field("dir", &self.run.dir)
            .finish_non_exhaustive()
    }
}

/// The selection's identity in the caches and cursors.
fn selection_key(s: &Selection) -> String {
    serde_json::json!([s.scheme, s.grade, s.filter, s.sort, s.id_prefix]).to_string()
}

/// A short fingerprint of a selection of `run` for cursors: a cursor of one list is refused by
/// another.
pub fn fingerprint(s: &Selection, run: &Served) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(selection_key(s));
    h.update(&run.name);
    h.update(run.run.summary.config_hash.as_bytes());
    h.update(run.run.summary.as_of.to_string());
    h.finalize()[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Served {
    /// Reads the run in `dir`.
    pub fn load(dir: &Path, name: String) -> Result<Served, EngineError> {
        let clock = std::time::Instant::now();
        let mut steps = Vec::new();
        let mut step = |what: &'static str, since: &mut std::time::Instant| {
            steps.push((what, since.elapsed().as_secs_f64()));
            *since = std::time::Instant::now();
        };
        let mut since = clock;
        let run = StoredRun::open(dir)?;
        step("read", &mut since);
        let t = &run.customers;
        // the id index and the group sizes are independent: built side by side
        let (by_id, groupings) = rayon::join(
            || {
                Sort {
                    column: clientele_core::columns::CUSTOMER_ID.to_string(),
                    descending: false,
                }
                .order(t)
            },
            || groupings(&run.summary, t),
        );
        step("index and groups", &mut since);
        let vocab = Vocabulary::of(&run.summary);
        let scorer = scorer_of(&run);
        step("scorer", &mut since);
        Ok(Served {
            load_steps: steps,
            name,
            run,
            groupings,
            vocab,
            scorer,
            by_id,
            selections: Mutex::new(VecDeque::new()),
            orders: Mutex::new(VecDeque::new()),
        })
    }

    /// The customer table.
    pub fn table(&self) -> &CustomerTable {
        &self.run.customers
    }

    /// The language the run wrote its tables in.
    pub fn lang(&self) -> Lang {
        self.run.summary.lang
    }

    /// The row of a customer id.
    pub fn row_of(&self, id: &str) -> Option<usize> {
        let ids = self.table().ids();
        self.by_id
            .binary_search_by(|&r| ids.get(r as usize).cmp(id))
            .ok()
            .map(|i| self.by_id[i] as usize)
    }

    /// A grouping by key.
    pub fn grouping(&self, key: &str) -> Option<&GroupingSummary> {
        self.groupings.iter().find(|g| g.key == key)
    }

    /// The grouping named by a key, or a 404 listing the keys.
    pub fn grouping_or_404(&self, key: &str) -> Result<&GroupingSummary, ApiError> {
        self.grouping(key).ok_or_else(|| {
            let keys = self.scheme_keys().join(", ");
            ApiError::not_found(format!("no scheme `{}` in this run", clip(key)))
                .fix(format!("use one of: {keys}"))
                .zh(format!("本次运行没有方案 `{}`", clip_zh(key)))
                .fix_zh(format!("请使用以下方案之一：{keys}"))
        })
    }

    /// The grouping keys.
    pub fn scheme_keys(&self) -> Vec<&str> {
        self.groupings.iter().map(|g| g.key.as_str()).collect()
    }

    /// The rows a selection holds, in its order (table order when unsorted). Cached.
    pub fn select(&self, s: &Selection) -> Result<Arc<Vec<u32>>, ApiError> {
        let key = selection_key(s);
        if let Some(hit) = take_cached(&self.selections, &key) {
            return Ok(hit);
        }
        let t = self.table();
        let mask = s
            .mask(t, &self.groupings, &self.vocab)
            .map_err(ApiError::engine)?;
        let order = s
            .order_by(t)
            .map_err(ApiError::engine)?
            .map(|sort| self.order(&sort));
        let rows = Arc::new(clientele_engine::select_rows(
            t.len(),
            mask.as_deref(),
            order.as_deref().map(Vec::as_slice),
        ));
        put_cached(&self.selections, key, Arc::clone(&rows), SELECTIONS_KEPT);
        Ok(rows)
    }

    /// Every row in the order of `sort`. Cached.
    fn order(&self, s: &Sort) -> Arc<Vec<u32>> {
        let key = format!("{}\u{0}{}", s.column, s.descending);
        if let Some(hit) = take_cached(&self.orders, &key) {
            return hit;
        }
        let order = Arc::new(s.order(self.table()));
        put_cached(&self.orders, key, Arc::clone(&order), ORDERS_KEPT);
        order
    }

    /// One customer's row as JSON: every column, numbers rounded as in `customers.csv`
    /// (money to the cent), dates as `YYYY-MM-DD`, missing values as null.
    pub fn customer_json(&self, row: usize) -> serde_json::Map<String, Value> {
        let t = self.table();
        let mut m = serde_json::Map::new();
        m.insert(
            clientele_core::columns::CUSTOMER_ID.into(),
            Value::String(t.ids().get(row).to_string()),
        );
        for c in t.columns() {
            m.insert(c.name.clone(), cell_json(&c.name, &c.data, row));
        }
        m
    }
}

/// One value as JSON.
pub fn cell_json(name: &str, data: &ColumnData, row: usize) -> Value {
    match data {
        ColumnData::Int(v) => v.get(row).map_or(Value::Null, Value::from),
        ColumnData::Float(v) => v
            .get(row)
            .filter(|x| x.is_finite())
            .map_or(Value::Null, |x| {
                Value::from(clientele_core::Rounding::of_column(name).round(x))
            }),
        ColumnData::Text(v) => v.get(row).map_or(Value::Null, |s| Value::String(s.into())),
        ColumnData::Date(v) => v
            .get(row)
            .map_or(Value::Null, |d| Value::String(d.to_string())),
    }
}

fn take_cached(cache: &RowCache, key: &str) -> Option<Arc<Vec<u32>>> {
    let mut c = cache.lock().unwrap_or_else(|e| e.into_inner());
    let i = c.iter().position(|(k, _)| k == key)?;
    let hit = c.remove(i)?;
    let rows = Arc::clone(&hit.1);
    c.push_front(hit);
    Some(rows)
}

fn put_cached(cache: &RowCache, key: String, rows: Arc<Vec<u32>>, keep: usize) {
    let mut c = cache.lock().unwrap_or_else(|e| e.into_inner());
    c.retain(|(k, _)| *k != key);
    c.push_front((key, rows));
    c.truncate(keep);
}

fn scorer_of(run: &StoredRun) -> Option<clientele_engine::Scorer> {
    let config = run.config()?;
    clientele_engine::Scorer::new(&run.summary, &config).ok()
}

/// Text from a request, clipped for a message.
pub fn clip(s: &str) -> String {
    clientele_engine::grade::expr::clip(s, 80).into_owned()
}

/// [`clip`] for a message in Chinese (the full length said in Chinese).
pub fn clip_zh(s: &str) -> String {
    clientele_engine::grade::expr::clip_in(s, 80, Lang::Zh).into_owned()
}

/// The runs being served: the first folder given is the primary run (the one the API answers
/// about unless `?run=` names another); all are listed in as-of order for history.
#[derive(Debug)]
pub struct Library {
    runs: RwLock<Arc<Vec<Arc<Served>>>>,
    /// The folders, as given.
    pub dirs: Vec<PathBuf>,
}

impl Library {
    /// Loads every folder. Names are the folder names, made unique with `-2`, `-3`….
    pub fn load(dirs: &[PathBuf]) -> Result<Library, EngineError> {
        let runs = load_all(dirs)?;
        Ok(Library {
            runs: RwLock::new(Arc::new(runs)),
            dirs: dirs.to_vec(),
        })
    }

    /// The runs now served, primary first.
    pub fn runs(&self) -> Arc<Vec<Arc<Served>>> {
        Arc::clone(&self.runs.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// The run named `name`, or the primary run.
    pub fn run(&self, name: Option<&str>) -> Result<Arc<Served>, ApiError> {
        let runs = self.runs();
        match name.filter(|n| !n.is_empty()) {
            None => runs.first().cloned().ok_or_else(|| {
                ApiError::not_found("no run is served").zh("服务器没有提供任何运行")
            }),
            Some(n) => runs.iter().find(|r| r.name == n).cloned().ok_or_else(|| {
                let names = runs
                    .iter()
                    .map(|r| r.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ");
                ApiError::not_found(format!("no run `{}` is served", clip(n)))
                    .fix(format!("use one of: {names}"))
                    .zh(format!("服务器没有提供运行 `{}`", clip_zh(n)))
                    .fix_zh(format!("请使用以下运行之一：{names}"))
            }),
        }
    }

    /// Reads the primary folder again (after a refresh wrote a new run there) and swaps it
    /// in; the other runs are kept as loaded.
    pub fn reload_primary(&self) -> Result<(), EngineError> {
        let mut runs: Vec<Arc<Served>> = self.runs().iter().cloned().collect();
        let (Some(first), Some(dir)) = (runs.first_mut(), self.dirs.first()) else {
            return Ok(());
        };
        *first = Arc::new(Served::load(dir, first.name.clone())?);
        *self.runs.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(runs);
        Ok(())
    }

    /// Every served run's grade of one customer, oldest first: the customer's history
    /// across the snapshots served.
    pub fn history_of(&self, id: &str) -> Vec<BTreeMap<String, Value>> {
        let mut runs: Vec<Arc<Served>> = self.runs().iter().cloned().collect();
        runs.sort_by_key(|r| r.run.summary.as_of);
        runs.iter()
            .filter_map(|r| {
                let row = r.row_of(id)?;
                let mut m = BTreeMap::new();
                m.insert("run".into(), Value::String(r.name.clone()));
                m.insert(
                    "as_of".into(),
                    Value::String(r.run.summary.as_of.to_string()),
                );
                for g in &r.groupings {
                    if let Some(c) = r.table().get(&g.column) {
                        m.insert(g.key.clone(), cell_json(&g.column, c, row));
                    }
                }
                for c in [
                    clientele_core::columns::MONETARY,
                    clientele_core::columns::CLV,
                    clientele_core::columns::P_ALIVE,
                ] {
                    if let Some(d) = r.table().get(c) {
                        m.insert(c.into(), cell_json(c, d, row));
                    }
                }
                Some(m)
            })
            .collect()
    }
}

fn load_all(dirs: &[PathBuf]) -> Result<Vec<Arc<Served>>, EngineError> {
    let mut names: Vec<String> = Vec::new();
    let mut runs = Vec::new();
    for d in dirs {
        let base = d
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "run".into());
        let mut name = base.clone();
        let mut k = 2;
        while names.contains(&name) {
            name = format!("{base}-{k}");
            k += 1;
        }
        names.push(name.clone());
        runs.push(Arc::new(Served::load(d, name)?));
    }
    Ok(runs)
}
