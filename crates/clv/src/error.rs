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
        reason: String,
        /// What the user can try.
        hint: &'static str,
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
