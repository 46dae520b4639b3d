//! The crate's one error type: bad input, invalid parameters and failed fits.

/// Everything that can go wrong in `clientele-clv`.
///
/// Input errors name the rule broken and how many rows break it, so the caller can report
/// them without re-checking the data.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ClvError {
    /// No customers were given.
    #[error("empty input: at least one customer is needed")]
    Empty,
    /// Input columns have different lengths.
    #[error("column `{column}` has {actual} rows, expected {expected}")]
    LengthMismatch {
        /// The offending column.
        column: &'static str,
        /// Rows expected (length of the first column).
        expected: usize,
        /// Rows found.
        actual: usize,
    },
    /// NaN or infinite values.
    #[error("{count} rows have a non-finite `{column}`")]
    NonFinite {
        /// The offending column.
        column: &'static str,
        /// Number of offending rows.
        count: usize,
    },
    /// frequency < 0.
    #[error("{count} rows have a negative frequency (repeat purchases must be >= 0)")]
    NegativeFrequency {
        /// Number of offending rows.
        count: usize,
    },
    /// frequency not a whole number.
    #[error("{count} rows have a non-integer frequency (repeat purchases are counts)")]
    NonIntegerFrequency {
        /// Number of offending rows.
        count: usize,
    },
    /// recency < 0.
    #[error("{count} rows have a negative recency")]
    NegativeRecency {
        /// Number of offending rows.
        count: usize,
    },
    /// recency > T.
    #[error(
        "{count} rows have recency > T (the last purchase cannot be after the end of observation)"
    )]
    RecencyAboveT {
        /// Number of offending rows.
        count: usize,
    },
    /// frequency = 0 but recency != 0.
    #[error(
        "{count} rows have frequency 0 but recency != 0 (without repeat purchases recency must be 0)"
    )]
    ZeroFrequencyNonZeroRecency {
        /// Number of offending rows.
        count: usize,
    },
    /// BG/BB needs frequency <= recency, whole-number recency and periods.
    #[error("{count} rows break a discrete-time (BG/BB) rule: {rule}")]
    DiscreteRule {
        /// The rule broken.
        rule: &'static str,
        /// Number of offending rows.
        count: usize,
    },
    /// Weights must be finite and > 0.
    #[error("{count} rows have a weight that is not finite and > 0")]
    BadWeight {
        /// Number of offending rows.
        count: usize,
    },
    /// Gamma-Gamma needs at least one repeat customer with positive mean spend.
    #[error(
        "no customer has frequency > 0 and monetary value > 0 ({zero_or_negative} repeat customers have spend <= 0): the spend model cannot be fitted"
    )]
    NoPositiveSpend {
        /// Repeat customers whose mean spend is <= 0.
        zero_or_negative: usize,
    },
    /// Nobody bought more than once: the transaction models learn the purchase rate and the
    /// dropout from repeat purchases, so there is nothing to fit (the information matrix
    /// would be singular).
    #[error(
        "no customer bought more than once ({customers} customers): the purchase models need repeat purchases"
    )]
    NoRepeatPurchases {
        /// Customers in the data (sum of weights).
        customers: usize,
    },
    /// Every customer's observation time T is 0 (all first purchases on the as-of date), so
    /// no one could have bought again or dropped out yet.
    #[error(
        "every customer was observed for zero time (T = 0 for all {customers} customers: first purchase on the as-of date): the purchase models need time after the first purchase"
    )]
    ZeroObservationTime {
        /// Customers in the data (sum of weights).
        customers: usize,
    },
    /// Too few customers (or repeat customers) for the model's parameters to be identified.
    ///
    /// The minimums (see `fit::MIN_CUSTOMERS` and `fit::MIN_REPEAT_CUSTOMERS`): 10 customers,
    /// and at least as many repeat customers as the model has parameters (repeat customers
    /// carry all the information about the purchase rate and the dropout; below that the
    /// optimum is a boundary or a flat ridge and the numbers would be arbitrary).
    #[error(
        "{model} needs at least {minimum} {what}, the data has {found}: too few to estimate its parameters"
    )]
    TooFewCustomers {
        /// Model name.
        model: &'static str,
        /// Which customers are counted (`customers`, `repeat customers`, ...).
        what: &'static str,
        /// How many the data has (sum of weights, rounded down).
        found: usize,
        /// The minimum.
        minimum: usize,
    },
    /// A model parameter is not finite and > 0 (or breaks a model-specific rule).
    #[error("parameter `{name}` = {value} is invalid: {rule}")]
    InvalidParameter {
        /// Parameter name.
        name: &'static str,
        /// The value given.
        value: f64,
        /// The rule broken.
        rule: &'static str,
    },
    /// A function argument (horizon, discount, ...) is invalid.
    #[error("argument `{name}` = {value} is invalid: {rule}")]
    InvalidArgument {
        /// Argument name.
        name: &'static str,
        /// The value given.
        value: f64,
        /// The rule broken.
        rule: &'static str,
    },
    /// The optimiser could not find a usable maximum.
    #[error("{model} fit failed: {reason}; try: {hint}")]
    FitFailed {
        /// Model name.
        model: &'static str,
        /// What went wrong.
        reason: FitTrouble,
        /// What the user can try.
        hint: FitHint,
    },
    /// No covariate columns were given.
    #[error("no covariate columns: at least one is needed")]
    NoCovariates,
    /// A covariate column cannot be used (see [`CovariateProblem`]).
    #[error("covariate `{column}` {problem}")]
    BadCovariate {
        /// The column's name.
        column: String,
        /// What is wrong with it.
        problem: CovariateProblem,
    },
    /// Every parameter draw for the intervals was rejected by the model.
    #[error(
        "all {draws} parameter draws were rejected by the model (outside its parameters' domain \
         or non-finite predictions): the parameter uncertainty is too large for intervals"
    )]
    NoUsableDraws {
        /// Draws requested.
        draws: usize,
    },
}

impl ClvError {
    /// The message in Chinese, for a run in Chinese (the English is [`std::fmt::Display`]).
    /// A rule quoted from the code (`must be finite and > 0`) stays as written.
    pub fn zh(&self) -> String {
        match self {
            ClvError::Empty => "输入为空：至少需要一位客户".to_string(),
            ClvError::LengthMismatch {
                column,
                expected,
                actual,
            } => format!("列 `{column}` 有 {actual} 行，应为 {expected} 行"),
            ClvError::NonFinite { column, count } => {
                format!("{count} 行的 `{column}` 不是有限值")
            }
            ClvError::NegativeFrequency { count } => {
                format!("{count} 行的重复购买次数为负（应 >= 0）")
            }
            ClvError::NonIntegerFrequency { count } => {
                format!("{count} 行的重复购买次数不是整数（它是计数）")
            }
            ClvError::NegativeRecency { count } => format!("{count} 行的最近购买时间为负"),
            ClvError::RecencyAboveT { count } => {
                format!("{count} 行的最近购买时间晚于观察期末（recency > T）")
            }
            ClvError::ZeroFrequencyNonZeroRecency { count } => {
                format!("{count} 行没有重复购买但 recency 不为 0（没有重复购买时 recency 应为 0）")
            }
            ClvError::DiscreteRule { rule, count } => {
                format!("{count} 行不符合离散时间（BG/BB）模型的规则：{rule}")
            }
            ClvError::BadWeight { count } => format!("{count} 行的权重不是大于 0 的有限值"),
            ClvError::NoPositiveSpend { zero_or_negative } => format!(
                "没有客户既有重复购买又有正的平均消费（{zero_or_negative} 位回头客的消费 <= 0）：无法拟合消费模型"
            ),
            ClvError::NoRepeatPurchases { customers } => {
                format!("没有客户购买过一次以上（共 {customers} 位客户）：购买模型需要重复购买")
            }
            ClvError::ZeroObservationTime { customers } => format!(
                "全部 {customers} 位客户的观察时长为 0（首次购买都在截止日）：购买模型需要首次购买之后的时间"
            ),
            ClvError::TooFewCustomers {
                model,
                what,
                found,
                minimum,
            } => {
                let what = match *what {
                    "repeat customers" => "位回头客",
                    "customers" => "位客户",
                    other => other,
                };
                format!("{model} 至少需要 {minimum} {what}，数据中只有 {found}：太少，无法估计参数")
            }
            ClvError::InvalidParameter { name, value, rule } => {
                format!("参数 `{name}` = {value} 无效：{rule}")
            }
            ClvError::InvalidArgument { name, value, rule } => {
                format!("设置 `{name}` = {value} 无效：{rule}")
            }
            ClvError::FitFailed {
                model,
                reason,
                hint,
            } => format!("{model} 拟合失败：{}；可尝试：{}", reason.zh(), hint.zh()),
            ClvError::NoCovariates => "没有协变量列：至少需要一列".to_string(),
            ClvError::BadCovariate { column, problem } => {
                format!("协变量 `{column}` {}", problem.zh())
            }
            ClvError::NoUsableDraws { draws } => format!(
                "全部 {draws} 组参数抽样都被模型拒绝（超出参数的取值范围或预测不是有限值）：参数的不确定性太大，无法给出区间"
            ),
        }
    }
}

impl CovariateProblem {
    /// The same in Chinese (after the covariate's name).
    pub fn zh(&self) -> String {
        match self {
            CovariateProblem::NonFinite { count } => format!("有 {count} 个不是有限值的值"),
            CovariateProblem::Constant { value } => {
                format!("对所有客户都只有一个取值（{value}）：它的作用无法与基础参数区分")
            }
            CovariateProblem::Collinear { with } => {
                format!("与 {with:?} 完全共线（是它们与常数的线性组合）：它的系数无法确定")
            }
            CovariateProblem::Duplicate => "出现了两次：系数名必须唯一".to_string(),
            CovariateProblem::Unknown => "不是协变量列之一".to_string(),
            CovariateProblem::ConstraintNeedsBoth => {
                "被约束为两个过程共用一个系数，这需要两个过程都使用它".to_string()
            }
            CovariateProblem::Separation { coefficient, bound } => format!(
                "把客户完全分开了：它的系数 `{coefficient}` 跑到了 ±{bound}（例如某个取值的客户从不复购）；请去掉它或合并取值"
            ),
        }
    }
}

/// What went wrong in a fit that found no usable maximum.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum FitTrouble {
    /// The log-likelihood was not finite at any start.
    #[error("the log-likelihood was not finite at any of {starts} starts")]
    NotFinite {
        /// Starts tried.
        starts: usize,
    },
    /// A log-parameter ran past ±30: the data do not bound it.
    #[error("parameter `{parameter}` ran off to {value:e}: the data do not identify it")]
    RanOff {
        /// The parameter.
        parameter: &'static str,
        /// Its value when stopped.
        value: f64,
    },
    /// The optimiser stopped short of a maximum.
    #[error("no convergence after {iterations} iterations (gradient norm {gradient:.3e})")]
    NoConvergence {
        /// Iterations run.
        iterations: usize,
        /// Largest gradient component at the stop.
        gradient: f64,
    },
    /// A flat or saddle optimum: some of `what` (parameters, coefficients) are not identified.
    #[error(
        "the information matrix at the optimum is not positive definite: the data do not identify all {what}"
    )]
    NotIdentified {
        /// `parameters` or `coefficients`.
        what: &'static str,
    },
    /// Gamma-Gamma's q ≤ 1 after leaving out the extreme spenders.
    #[error(
        "q = {q:.4} <= 1: mean spend is so heavy-tailed that its population mean is infinite, also without the most extreme spenders"
    )]
    InfiniteMeanSpend {
        /// The fitted q.
        q: f64,
    },
    /// `[clv] model = "auto"`: every candidate failed; each one's error, in English and in
    /// Chinese.
    #[error("{}", en.join("; "))]
    EveryCandidate {
        /// The candidates' errors.
        en: Vec<String>,
        /// The same in Chinese.
        zh: Vec<String>,
    },
}

impl FitTrouble {
    /// The same in Chinese.
    pub fn zh(&self) -> String {
        match self {
            FitTrouble::NotFinite { starts } => {
                format!("在全部 {starts} 个起点上对数似然都不是有限值")
            }
            FitTrouble::RanOff { parameter, value } => {
                format!("参数 `{parameter}` 跑到了 {value:e}：数据无法确定它")
            }
            FitTrouble::NoConvergence {
                iterations,
                gradient,
            } => format!("{iterations} 次迭代后仍未收敛（梯度范数 {gradient:.3e}）"),
            FitTrouble::NotIdentified { what } => {
                let what = if *what == "coefficients" {
                    "系数"
                } else {
                    "参数"
                };
                format!("最优点处的信息矩阵不正定：数据无法确定全部{what}")
            }
            FitTrouble::InfiniteMeanSpend { q } => format!(
                "q = {q:.4} <= 1：客单价分布尾部过重，即使去掉最极端的消费者，总体均值仍为无穷"
            ),
            FitTrouble::EveryCandidate { zh, .. } => zh.join("；"),
        }
    }
}

/// What a user can try when a fit fails: only what they can set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FitHint {
    /// A penalizer or another time unit.
    #[error("add a small penalizer (`[clv] penalizer = 0.001`) or check the time unit (--unit)")]
    Penalizer,
    /// The input's amounts and dates, or a penalizer.
    #[error(
        "check the amounts and dates of the input, or add a small penalizer (`[clv] penalizer = 0.001`)"
    )]
    CheckInput,
    /// More data, a penalizer or a simpler model.
    #[error(
        "use more customers or a longer calibration period, add a small penalizer (`[clv] penalizer = 0.001`), or choose another model (`[clv] model = \"bg_nbd\"` or \"pareto_nbd\")"
    )]
    MoreData,
    /// Fewer or constrained covariates.
    #[error("drop covariates that barely vary, or constrain one to both processes")]
    Covariates,
    /// The spend column's units, or no spend model.
    #[error(
        "check the monetary column for wrong units or outliers, or do without CLV (`[clv] spend = \"none\"`)"
    )]
    SpendUnits,
    /// One model instead of `auto`.
    #[error("choose a model (`[clv] model = \"mbg_nbd\"`) and follow its hint")]
    ChooseModel,
}

impl FitHint {
    /// The same in Chinese.
    pub fn zh(self) -> &'static str {
        match self {
            FitHint::Penalizer => {
                "加一个小的惩罚项（`[clv] penalizer = 0.001`），或检查时间单位（--unit）"
            }
            FitHint::CheckInput => {
                "检查输入的金额和日期，或加一个小的惩罚项（`[clv] penalizer = 0.001`）"
            }
            FitHint::MoreData => {
                "用更多客户或更长的校准期，加一个小的惩罚项（`[clv] penalizer = 0.001`），或换一个模型（`[clv] model = \"bg_nbd\"` 或 \"pareto_nbd\"）"
            }
            FitHint::Covariates => "去掉几乎不变的协变量，或把某个协变量约束为两个过程共用",
            FitHint::SpendUnits => {
                "检查消费金额列的单位和异常值，或不计算 CLV（`[clv] spend = \"none\"`）"
            }
            FitHint::ChooseModel => "指定一个模型（`[clv] model = \"mbg_nbd\"`）并按它的提示处理",
        }
    }
}

/// Why a covariate column cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CovariateProblem {
    /// NaN or infinite values.
    #[error("has {count} non-finite values")]
    NonFinite {
        /// Number of offending rows.
        count: usize,
    },
    /// One value for every customer: its effect is the base parameter's.
    #[error(
        "has a single level ({value}) for every customer: its effect cannot be told apart from the base parameters"
    )]
    Constant {
        /// The one value.
        value: f64,
    },
    /// A linear combination of other columns and a constant: its coefficient is not identified.
    #[error(
        "is perfectly collinear with {with:?} (a linear combination of them and a constant): its coefficient is not identified"
    )]
    Collinear {
        /// The earlier columns it is a combination of.
        with: Vec<String>,
    },
    /// Two columns have this name.
    #[error("is named twice: coefficient names must be unique")]
    Duplicate,
    /// The options name a column the covariates do not have.
    #[error("is not one of the covariate columns")]
    Unknown,
    /// A coefficient shared by both processes needs the covariates on both processes.
    #[error(
        "is constrained to one coefficient for both processes, which needs the covariates on both"
    )]
    ConstraintNeedsBoth,
    /// Its coefficient runs to the bound: the covariate separates the customers (one level
    /// never buys again, or only it does), so the likelihood has no finite maximum.
    #[error(
        "separates the customers: its coefficient `{coefficient}` runs to ±{bound} (for example one level never buys again); drop it or merge its levels"
    )]
    Separation {
        /// The coefficient (`trans.<col>`, `life.<col>`).
        coefficient: String,
        /// The bound on |coefficient|.
        bound: f64,
    },
}

/// Result alias for this crate.
pub type Result<T, E = ClvError> = std::result::Result<T, E>;

/// Checks that a parameter is finite and strictly positive.
pub(crate) fn positive(name: &'static str, value: f64) -> Result<f64> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(ClvError::InvalidParameter {
            name,
            value,
            rule: "must be finite and > 0",
        })
    }
}

/// Checks that a horizon/time argument is finite and >= 0.
pub(crate) fn non_negative_arg(name: &'static str, value: f64) -> Result<f64> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(ClvError::InvalidArgument {
            name,
            value,
            rule: "must be finite and >= 0",
        })
    }
}
