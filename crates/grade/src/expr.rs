//! Conditions: SQL boolean expressions over customer-table columns.
//!
//! sqlparser parses the text once; [`parse`] turns its tree into the small [`Expr`] subset we
//! support, [`type_check`] finds unknown columns and type errors against a [`TableSchema`], and
//! [`bind`] resolves table statistics (`p80(monetary)`, `mean(orders)`) and produces a typed
//! [`BoolNode`] that is evaluated column-wise over whole slices — never re-parsed per row.
//!
//! NULL follows SQL three-valued logic: comparisons with NULL are NULL, `NULL AND FALSE` is
//! false, and a rule whose condition is NULL does not match. Division by zero and NaN are NULL.

use std::fmt;

use clientele_core::{ColumnData, CoreError, CustomerTable, Day, Ids, Texts};
use sqlparser::ast::{
    self, BinaryOperator, FunctionArg, FunctionArgExpr, FunctionArguments, UnaryOperator,
};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;

use crate::schema::{ColumnType, TableSchema};

/// A parsed condition (the supported subset of SQL expressions).
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A column by name.
    Column(String),
    /// A number literal.
    Num(f64),
    /// A string literal (`'VIP'`).
    Str(String),
    /// `TRUE` / `FALSE`.
    Bool(bool),
    /// `NULL`.
    Null,
    /// A statistic of a column over the whole table, resolved when the scheme is compiled.
    Stat(Stat, String),
    /// Unary minus.
    Neg(Box<Expr>),
    /// `+ - * /`.
    Arith(ArithOp, Box<Expr>, Box<Expr>),
    /// `= <> < <= > >=`.
    Cmp(CmpOp, Box<Expr>, Box<Expr>),
    /// `AND`.
    And(Box<Expr>, Box<Expr>),
    /// `OR`.
    Or(Box<Expr>, Box<Expr>),
    /// `NOT`.
    Not(Box<Expr>),
    /// `IS [NOT] NULL` (`true` = `IS NOT NULL`).
    IsNull(Box<Expr>, bool),
    /// `x [NOT] BETWEEN lo AND hi` (inclusive; `true` = `NOT`).
    Between(Box<Expr>, Box<Expr>, Box<Expr>, bool),
    /// `x [NOT] IN (a, b, …)` (`true` = `NOT`).
    InList(Box<Expr>, Vec<Expr>, bool),
    /// `x [NOT] LIKE 'pat'` / `ILIKE`: `%` any run, `_` one char.
    Like {
        /// The text tested.
        expr: Box<Expr>,
        /// The pattern.
        pattern: String,
        /// `NOT LIKE`.
        negated: bool,
        /// `ILIKE` (case-insensitive).
        case_insensitive: bool,
    },
}

/// Whole-table statistics usable in conditions so thresholds follow a shop's scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stat {
    /// `pNN(col)` / `percentile(col, p)` / `median(col)`: linear interpolation between order
    /// statistics (R type 7, numpy's default), over non-NULL values.
    Percentile(f64),
    /// `mean(col)` / `avg(col)`.
    Mean,
    /// `min(col)`.
    Min,
    /// `max(col)`.
    Max,
}

/// Arithmetic operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/` (division by zero gives NULL)
    Div,
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `<>` / `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl fmt::Display for Stat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stat::Percentile(p) => write!(f, "percentile({p})"),
            Stat::Mean => f.write_str("mean"),
            Stat::Min => f.write_str("min"),
            Stat::Max => f.write_str("max"),
        }
    }
}

impl Expr {
    /// The statistic's call as written back, e.g. `p80(monetary)`.
    fn stat_text(stat: Stat, col: &str) -> String {
        match stat {
            Stat::Percentile(p) => {
                let pct = p * 100.0;
                if (pct - pct.round()).abs() < 1e-9 {
                    format!("p{}({col})", pct.round())
                } else {
                    format!("percentile({col}, {p})")
                }
            }
            other => format!("{other}({col})"),
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Column(c) => f.write_str(c),
            Expr::Num(x) => write!(f, "{x}"),
            Expr::Str(s) => write!(f, "'{}'", s.replace('\'', "''")),
            Expr::Bool(b) => f.write_str(if *b { "TRUE" } else { "FALSE" }),
            Expr::Null => f.write_str("NULL"),
            Expr::Stat(s, c) => f.write_str(&Expr::stat_text(*s, c)),
            Expr::Neg(e) => write!(f, "-{e}"),
            Expr::Arith(op, a, b) => {
                let o = match op {
                    ArithOp::Add => "+",
                    ArithOp::Sub => "-",
                    ArithOp::Mul => "*",
                    ArithOp::Div => "/",
                };
                write!(f, "({a} {o} {b})")
            }
            Expr::Cmp(op, a, b) => write!(f, "{a} {} {b}", cmp_str(*op)),
            Expr::And(a, b) => write!(f, "({a} AND {b})"),
            Expr::Or(a, b) => write!(f, "({a} OR {b})"),
            Expr::Not(e) => write!(f, "NOT {e}"),
            Expr::IsNull(e, neg) => write!(f, "{e} IS {}NULL", if *neg { "NOT " } else { "" }),
            Expr::Between(e, lo, hi, neg) => {
                write!(
                    f,
                    "{e} {}BETWEEN {lo} AND {hi}",
                    if *neg { "NOT " } else { "" }
                )
            }
            Expr::InList(e, list, neg) => {
                let items: Vec<String> = list.iter().map(|x| x.to_string()).collect();
                write!(
                    f,
                    "{e} {}IN ({})",
                    if *neg { "NOT " } else { "" },
                    items.join(", ")
                )
            }
            Expr::Like {
                expr,
                pattern,
                negated,
                case_insensitive,
            } => write!(
                f,
                "{expr} {}{} '{pattern}'",
                if *negated { "NOT " } else { "" },
                if *case_insensitive { "ILIKE" } else { "LIKE" }
            ),
        }
    }
}

fn cmp_str(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Eq => "=",
        CmpOp::Ne => "<>",
        CmpOp::Lt => "<",
        CmpOp::Le => "<=",
        CmpOp::Gt => ">",
        CmpOp::Ge => ">=",
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing

/// Parses a condition. The error is sqlparser's message, or says which construct is not
/// supported.
pub fn parse(src: &str) -> Result<Expr, String> {
    let dialect = GenericDialect {};
    let mut p = Parser::new(&dialect)
        .try_with_sql(src)
        .map_err(|e| e.to_string())?;
    let e = p.parse_expr().map_err(|e| e.to_string())?;
    let next = p.peek_token();
    if next.token != Token::EOF {
        return Err(format!(
            "unexpected `{}` after the end of the expression",
            next.token
        ));
    }
    convert(&e)
}

fn unsupported(e: &ast::Expr) -> String {
    format!(
        "`{e}` is not supported in conditions (use columns, numbers, 'text', comparisons, \
         AND/OR/NOT, + - * /, BETWEEN, IN (...), IS [NOT] NULL, LIKE, pNN(col), \
         percentile(col, p), mean/median/min/max(col))"
    )
}

fn convert(e: &ast::Expr) -> Result<Expr, String> {
    use ast::Expr as S;
    let b = |x: &ast::Expr| convert(x).map(Box::new);
    Ok(match e {
        S::Identifier(id) => Expr::Column(id.value.clone()),
        S::CompoundIdentifier(parts) => {
            return Err(format!(
                "qualified name `{e}` is not supported: use the bare column name `{}`",
                parts.last().map(|p| p.value.as_str()).unwrap_or_default()
            ));
        }
        S::Value(v) => match &v.value {
            ast::Value::Number(s, _) => Expr::Num(
                s.parse::<f64>()
                    .map_err(|_| format!("`{s}` is not a number"))?,
            ),
            ast::Value::SingleQuotedString(s) => Expr::Str(s.clone()),
            ast::Value::Boolean(x) => Expr::Bool(*x),
            ast::Value::Null => Expr::Null,
            _ => return Err(unsupported(e)),
        },
        S::Nested(inner) => convert(inner)?,
        S::UnaryOp { op, expr } => match op {
            UnaryOperator::Not => Expr::Not(b(expr)?),
            UnaryOperator::Minus => match convert(expr)? {
                Expr::Num(x) => Expr::Num(-x),
                other => Expr::Neg(Box::new(other)),
            },
            UnaryOperator::Plus => convert(expr)?,
            _ => return Err(unsupported(e)),
        },
        S::BinaryOp { left, op, right } => {
            let (l, r) = (b(left)?, b(right)?);
            match op {
                BinaryOperator::And => Expr::And(l, r),
                BinaryOperator::Or => Expr::Or(l, r),
                BinaryOperator::Plus => Expr::Arith(ArithOp::Add, l, r),
                BinaryOperator::Minus => Expr::Arith(ArithOp::Sub, l, r),
                BinaryOperator::Multiply => Expr::Arith(ArithOp::Mul, l, r),
                BinaryOperator::Divide => Expr::Arith(ArithOp::Div, l, r),
                BinaryOperator::Eq => Expr::Cmp(CmpOp::Eq, l, r),
                BinaryOperator::NotEq => Expr::Cmp(CmpOp::Ne, l, r),
                BinaryOperator::Lt => Expr::Cmp(CmpOp::Lt, l, r),
                BinaryOperator::LtEq => Expr::Cmp(CmpOp::Le, l, r),
                BinaryOperator::Gt => Expr::Cmp(CmpOp::Gt, l, r),
                BinaryOperator::GtEq => Expr::Cmp(CmpOp::Ge, l, r),
                _ => return Err(unsupported(e)),
            }
        }
        S::IsNull(x) => Expr::IsNull(b(x)?, false),
        S::IsNotNull(x) => Expr::IsNull(b(x)?, true),
        S::Between {
            expr,
            negated,
            low,
            high,
        } => Expr::Between(b(expr)?, b(low)?, b(high)?, *negated),
        S::InList {
            expr,
            list,
            negated,
        } => Expr::InList(
            b(expr)?,
            list.iter().map(convert).collect::<Result<_, _>>()?,
            *negated,
        ),
        S::Like {
            negated,
            any: false,
            expr,
            pattern,
            escape_char: None,
        } => like(expr, pattern, *negated, false)?,
        S::ILike {
            negated,
            any: false,
            expr,
            pattern,
            escape_char: None,
        } => like(expr, pattern, *negated, true)?,
        S::Function(f) => function(e, f)?,
        _ => return Err(unsupported(e)),
    })
}

fn like(
    expr: &ast::Expr,
    pattern: &ast::Expr,
    negated: bool,
    case_insensitive: bool,
) -> Result<Expr, String> {
    match convert(pattern)? {
        Expr::Str(p) => Ok(Expr::Like {
            expr: Box::new(convert(expr)?),
            pattern: p,
            negated,
            case_insensitive,
        }),
        other => Err(format!(
            "the LIKE pattern must be a 'quoted string', not `{other}`"
        )),
    }
}

fn function(whole: &ast::Expr, f: &ast::Function) -> Result<Expr, String> {
    let name = f.name.to_string().to_lowercase();
    let args: Vec<&ast::Expr> = match &f.args {
        FunctionArguments::List(list) if f.over.is_none() && f.filter.is_none() => list
            .args
            .iter()
            .map(|a| match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) => Ok(x),
                _ => Err(unsupported(whole)),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(unsupported(whole)),
    };
    let column = |i: usize| -> Result<String, String> {
        match args.get(i) {
            Some(ast::Expr::Identifier(id)) => Ok(id.value.clone()),
            _ => Err(format!(
                "`{whole}`: the argument must be a column name, e.g. {name}(monetary)"
            )),
        }
    };
    let arity = |n: usize| -> Result<(), String> {
        if args.len() == n {
            Ok(())
        } else {
            Err(format!("`{whole}`: {name} takes {n} argument(s)"))
        }
    };
    let stat = match name.as_str() {
        "mean" | "avg" => Stat::Mean,
        "median" => Stat::Percentile(0.5),
        "min" => Stat::Min,
        "max" => Stat::Max,
        "percentile" => {
            arity(2)?;
            let p = match convert(args[1])? {
                Expr::Num(p) if (0.0..=1.0).contains(&p) => p,
                _ => {
                    return Err(format!(
                        "`{whole}`: the percentile must be a number between 0 and 1, e.g. \
                         percentile(monetary, 0.8)"
                    ));
                }
            };
            return Ok(Expr::Stat(Stat::Percentile(p), column(0)?));
        }
        n if n.len() > 1 && n.starts_with('p') && n[1..].chars().all(|c| c.is_ascii_digit()) => {
            let pct: f64 = n[1..].parse().map_err(|_| unsupported(whole))?;
            if pct > 100.0 {
                return Err(format!("`{whole}`: a percentile is between p0 and p100"));
            }
            Stat::Percentile(pct / 100.0)
        }
        _ => {
            return Err(format!(
                "unknown function `{name}` in `{whole}`; functions are pNN(col), \
                 percentile(col, p), median(col), mean(col), min(col), max(col)"
            ));
        }
    };
    arity(1)?;
    Ok(Expr::Stat(stat, column(0)?))
}

// ---------------------------------------------------------------------------------------------
// Types

/// What a (sub)expression evaluates to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Num,
    Text,
    Bool,
    /// The `NULL` literal: fits anywhere.
    Null,
}

impl Ty {
    fn name(self) -> &'static str {
        match self {
            Ty::Num => "a number",
            Ty::Text => "text",
            Ty::Bool => "true/false",
            Ty::Null => "NULL",
        }
    }
}

/// A problem found by [`type_check`].
#[derive(Debug, Clone, PartialEq)]
pub enum ExprIssue {
    /// A column that is not in the table.
    UnknownColumn(String),
    /// A type error, described.
    Type(String),
}

/// Rewrites `'YYYY-MM-DD'` literals compared with date columns into day numbers.
pub fn coerce_dates(e: Expr, schema: &TableSchema) -> Expr {
    let is_date = |x: &Expr| matches!(x, Expr::Column(c) if schema.get(c).is_some_and(|s| s.ty == ColumnType::Date));
    let fix = |x: Expr, date: bool| match x {
        Expr::Str(s) if date => match Day::parse_iso(&s) {
            Ok(d) => Expr::Num(f64::from(d.0)),
            Err(_) => Expr::Str(s),
        },
        other => coerce_dates(other, schema),
    };
    match e {
        Expr::Cmp(op, a, b) => {
            let (da, db) = (is_date(&a), is_date(&b));
            Expr::Cmp(op, Box::new(fix(*a, db)), Box::new(fix(*b, da)))
        }
        Expr::Between(x, lo, hi, n) => {
            let d = is_date(&x);
            Expr::Between(
                Box::new(coerce_dates(*x, schema)),
                Box::new(fix(*lo, d)),
                Box::new(fix(*hi, d)),
                n,
            )
        }
        Expr::InList(x, list, n) => {
            let d = is_date(&x);
            Expr::InList(
                Box::new(coerce_dates(*x, schema)),
                list.into_iter().map(|i| fix(i, d)).collect(),
                n,
            )
        }
        Expr::And(a, b) => Expr::And(
            Box::new(coerce_dates(*a, schema)),
            Box::new(coerce_dates(*b, schema)),
        ),
        Expr::Or(a, b) => Expr::Or(
            Box::new(coerce_dates(*a, schema)),
            Box::new(coerce_dates(*b, schema)),
        ),
        Expr::Not(a) => Expr::Not(Box::new(coerce_dates(*a, schema))),
        other => other,
    }
}

/// Finds unknown columns and type errors. An empty result means [`bind`] will succeed.
pub fn type_check(e: &Expr, schema: &TableSchema) -> Vec<ExprIssue> {
    let mut issues = Vec::new();
    let t = ty(e, schema, &mut issues);
    if !matches!(t, Ty::Bool | Ty::Null) && issues.is_empty() {
        issues.push(ExprIssue::Type(format!(
            "the condition must be true or false, but `{e}` is {}; compare it, e.g. `{e} > 0`",
            t.name()
        )));
    }
    issues
}

fn ty(e: &Expr, schema: &TableSchema, issues: &mut Vec<ExprIssue>) -> Ty {
    let want = |x: &Expr, want: Ty, what: &str, issues: &mut Vec<ExprIssue>| {
        let t = ty(x, schema, issues);
        if t != want && t != Ty::Null {
            issues.push(ExprIssue::Type(format!(
                "{what} needs {}, but `{x}` is {}",
                want.name(),
                t.name()
            )));
        }
    };
    match e {
        Expr::Column(c) => match schema.get(c) {
            Some(col) if col.ty == ColumnType::Text => Ty::Text,
            Some(_) => Ty::Num,
            None => {
                issues.push(ExprIssue::UnknownColumn(c.clone()));
                Ty::Null
            }
        },
        Expr::Num(_) => Ty::Num,
        Expr::Str(_) => Ty::Text,
        Expr::Bool(_) => Ty::Bool,
        Expr::Null => Ty::Null,
        Expr::Stat(s, c) => {
            match schema.get(c) {
                None => issues.push(ExprIssue::UnknownColumn(c.clone())),
                Some(col) if !col.ty.is_numeric() => issues.push(ExprIssue::Type(format!(
                    "`{}` needs a numeric column, but `{c}` is text",
                    Expr::stat_text(*s, c)
                ))),
                Some(_) => {}
            }
            Ty::Num
        }
        Expr::Neg(x) => {
            want(x, Ty::Num, "unary minus", issues);
            Ty::Num
        }
        Expr::Arith(_, a, b) => {
            want(a, Ty::Num, &format!("`{e}`"), issues);
            want(b, Ty::Num, &format!("`{e}`"), issues);
            Ty::Num
        }
        Expr::Cmp(_, a, b) => {
            same(e, &[a, b], schema, issues);
            Ty::Bool
        }
        Expr::Between(x, lo, hi, _) => {
            same(e, &[x, lo, hi], schema, issues);
            Ty::Bool
        }
        Expr::InList(x, list, _) => {
            let mut all: Vec<&Expr> = vec![x];
            all.extend(list.iter());
            same(e, &all, schema, issues);
            Ty::Bool
        }
        Expr::And(a, b) | Expr::Or(a, b) => {
            let op = if matches!(e, Expr::And(..)) {
                "AND"
            } else {
                "OR"
            };
            want(a, Ty::Bool, op, issues);
            want(b, Ty::Bool, op, issues);
            Ty::Bool
        }
        Expr::Not(x) => {
            want(x, Ty::Bool, "NOT", issues);
            Ty::Bool
        }
        Expr::IsNull(x, _) => {
            ty(x, schema, issues);
            Ty::Bool
        }
        Expr::Like { expr, .. } => {
            want(expr, Ty::Text, "LIKE", issues);
            Ty::Bool
        }
    }
}

/// All operands of a comparison must have one type (numbers with numbers, text with text).
fn same(whole: &Expr, parts: &[&Expr], schema: &TableSchema, issues: &mut Vec<ExprIssue>) {
    let tys: Vec<Ty> = parts.iter().map(|p| ty(p, schema, issues)).collect();
    let mut first: Option<(Ty, &Expr)> = None;
    for (t, p) in tys.iter().zip(parts) {
        match (*t, first) {
            (Ty::Null, _) => {}
            (t, None) => first = Some((t, p)),
            (t, Some((f, fp))) if t != f => {
                let hint = if matches!(t, Ty::Text) || matches!(f, Ty::Text) {
                    "; quote text as 'text' and compare numbers with numbers (a date column \
                     compares with 'YYYY-MM-DD')"
                } else {
                    ""
                };
                issues.push(ExprIssue::Type(format!(
                    "cannot compare `{fp}` ({}) with `{p}` ({}) in `{whole}`{hint}",
                    f.name(),
                    t.name()
                )));
                return;
            }
            _ => {}
        }
    }
    if let Some((Ty::Bool, _)) = first {
        issues.push(ExprIssue::Type(format!(
            "`{whole}` compares true/false values; use AND/OR/NOT instead"
        )));
    }
}

/// Columns an expression reads (statistics included), in first-use order.
pub fn columns(e: &Expr) -> Vec<String> {
    fn walk(e: &Expr, out: &mut Vec<String>) {
        let mut add = |c: &String| {
            if !out.contains(c) {
                out.push(c.clone());
            }
        };
        match e {
            Expr::Column(c) | Expr::Stat(_, c) => add(c),
            Expr::Num(_) | Expr::Str(_) | Expr::Bool(_) | Expr::Null => {}
            Expr::Neg(x) | Expr::Not(x) | Expr::IsNull(x, _) => walk(x, out),
            Expr::Like { expr, .. } => walk(expr, out),
            Expr::Arith(_, a, b) | Expr::Cmp(_, a, b) | Expr::And(a, b) | Expr::Or(a, b) => {
                walk(a, out);
                walk(b, out);
            }
            Expr::Between(x, lo, hi, _) => {
                walk(x, out);
                walk(lo, out);
                walk(hi, out);
            }
            Expr::InList(x, list, _) => {
                walk(x, out);
                for i in list {
                    walk(i, out);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(e, &mut out);
    out
}

/// True when the expression uses a whole-table statistic (its result depends on the data).
pub fn has_stat(e: &Expr) -> bool {
    match e {
        Expr::Stat(..) => true,
        Expr::Column(_) | Expr::Num(_) | Expr::Str(_) | Expr::Bool(_) | Expr::Null => false,
        Expr::Neg(x) | Expr::Not(x) | Expr::IsNull(x, _) => has_stat(x),
        Expr::Like { expr, .. } => has_stat(expr),
        Expr::Arith(_, a, b) | Expr::Cmp(_, a, b) | Expr::And(a, b) | Expr::Or(a, b) => {
            has_stat(a) || has_stat(b)
        }
        Expr::Between(x, lo, hi, _) => has_stat(x) || has_stat(lo) || has_stat(hi),
        Expr::InList(x, list, _) => has_stat(x) || list.iter().any(has_stat),
    }
}

// ---------------------------------------------------------------------------------------------
// Binding

/// Three-valued truth, one byte per customer: [`FALSE`], [`TRUE`] or [`NULL`].
pub type Tri = u8;
/// SQL false.
pub const FALSE: Tri = 0;
/// SQL true.
pub const TRUE: Tri = 1;
/// SQL unknown.
pub const NULL: Tri = 2;

/// Where a bound column lives: an index into [`Slots`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot(usize);

/// The columns a set of compiled expressions reads, each once, with how it is read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Slots {
    cols: Vec<(String, bool)>,
}

impl Slots {
    fn slot(&mut self, name: &str, text: bool) -> Slot {
        if let Some(i) = self.cols.iter().position(|(n, t)| n == name && *t == text) {
            return Slot(i);
        }
        self.cols.push((name.to_string(), text));
        Slot(self.cols.len() - 1)
    }

    /// Registers a numeric column (e.g. a grid axis) so [`Slots::load`] fetches it.
    pub fn num_slot(&mut self, name: &str) -> Slot {
        self.slot(name, false)
    }

    /// Loads the columns from a table: numbers as `f64` with NaN for NULL (so kernels are plain
    /// loops), text by reference.
    pub fn load<'a>(&self, table: &'a CustomerTable) -> Result<Frame<'a>, CoreError> {
        let mut data = Vec::with_capacity(self.cols.len());
        for (name, text) in &self.cols {
            let col = if name == "customer_id" && *text {
                SlotData::Ids(table.ids())
            } else {
                match (table.column(name)?, text) {
                    (ColumnData::Text(v), true) => SlotData::Text(v),
                    (ColumnData::Int(v), false) => {
                        SlotData::Num(v.iter().map(|x| x.map_or(f64::NAN, |x| x as f64)).collect())
                    }
                    (ColumnData::Float(v), false) => {
                        SlotData::Num(v.iter().map(|x| x.unwrap_or(f64::NAN)).collect())
                    }
                    (ColumnData::Date(v), false) => SlotData::Num(
                        v.iter()
                            .map(|x| x.map_or(f64::NAN, |d| f64::from(d.0)))
                            .collect(),
                    ),
                    (other, _) => {
                        return Err(CoreError::ColumnType {
                            name: name.clone(),
                            expected: if *text { "text" } else { "a number" },
                            actual: other.type_name(),
                        });
                    }
                }
            };
            data.push(col);
        }
        Ok(Frame {
            len: table.len(),
            names: self.cols.iter().map(|(n, _)| n.clone()).collect(),
            data,
        })
    }
}

#[derive(Debug)]
enum SlotData<'a> {
    Num(Vec<f64>),
    Text(&'a Texts),
    Ids(&'a Ids),
}

/// Column data loaded for evaluation.
#[derive(Debug)]
pub struct Frame<'a> {
    len: usize,
    names: Vec<String>,
    data: Vec<SlotData<'a>>,
}

impl Frame<'_> {
    /// Number of customers.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there are no customers.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// A loaded numeric column by name (NaN = NULL).
    pub fn numbers(&self, name: &str) -> Option<&[f64]> {
        self.names
            .iter()
            .zip(&self.data)
            .find_map(|(n, d)| match d {
                SlotData::Num(v) if n == name => Some(v.as_slice()),
                _ => None,
            })
    }
}

/// A statistic resolved against the table at compile time, reported so users see the number
/// behind `p80(monetary)`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ResolvedStat {
    /// As written back, e.g. `p80(monetary)`.
    pub expr: String,
    /// The value used; `None` when the column has no non-NULL values (the comparison is NULL).
    pub value: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
enum NumNode {
    Col(Slot),
    Lit(f64),
    Neg(Box<NumNode>),
    Arith(ArithOp, Box<NumNode>, Box<NumNode>),
}

#[derive(Debug, Clone, PartialEq)]
enum TextNode {
    Col(Slot),
    Lit(Option<String>),
}

/// A compiled condition, typed so evaluation needs no checks.
#[derive(Debug, Clone, PartialEq)]
pub enum BoolNode {
    /// A constant.
    Lit(Tri),
    /// Numeric comparison.
    #[doc(hidden)]
    CmpNum(CmpOp, NumNodeBox, NumNodeBox),
    /// Text comparison.
    #[doc(hidden)]
    CmpText(CmpOp, TextNodeBox, TextNodeBox),
    /// `AND`.
    And(Box<BoolNode>, Box<BoolNode>),
    /// `OR`.
    Or(Box<BoolNode>, Box<BoolNode>),
    /// `NOT`.
    Not(Box<BoolNode>),
    /// `IS [NOT] NULL` on a number.
    #[doc(hidden)]
    NumIsNull(NumNodeBox, bool),
    /// `IS [NOT] NULL` on text.
    #[doc(hidden)]
    TextIsNull(TextNodeBox, bool),
    /// `IS [NOT] NULL` on a condition.
    BoolIsNull(Box<BoolNode>, bool),
    /// `LIKE`.
    #[doc(hidden)]
    Like(TextNodeBox, LikePattern, bool),
}

/// Opaque numeric sub-expression.
#[derive(Debug, Clone, PartialEq)]
pub struct NumNodeBox(Box<NumNode>);
/// Opaque text sub-expression.
#[derive(Debug, Clone, PartialEq)]
pub struct TextNodeBox(Box<TextNode>);

/// Binds a type-checked expression: columns to slots, statistics to numbers (recorded in
/// `resolved`). `stat` computes a statistic over the table. Call [`type_check`] first; binding an
/// ill-typed expression gives a constant NULL.
pub fn bind(
    e: &Expr,
    schema: &TableSchema,
    slots: &mut Slots,
    stat: &mut dyn FnMut(Stat, &str) -> Option<f64>,
    resolved: &mut Vec<ResolvedStat>,
) -> BoolNode {
    let mut b = Binder {
        schema,
        slots,
        stat,
        resolved,
    };
    b.boolean(e)
}

struct Binder<'s> {
    schema: &'s TableSchema,
    slots: &'s mut Slots,
    stat: &'s mut dyn FnMut(Stat, &str) -> Option<f64>,
    resolved: &'s mut Vec<ResolvedStat>,
}

impl Binder<'_> {
    fn is_text(&self, e: &Expr) -> bool {
        match e {
            Expr::Str(_) => true,
            Expr::Column(c) => self.schema.get(c).is_some_and(|s| s.ty == ColumnType::Text),
            _ => false,
        }
    }

    fn is_bool(&self, e: &Expr) -> bool {
        matches!(
            e,
            Expr::Bool(_)
                | Expr::Cmp(..)
                | Expr::And(..)
                | Expr::Or(..)
                | Expr::Not(_)
                | Expr::IsNull(..)
                | Expr::Between(..)
                | Expr::InList(..)
                | Expr::Like { .. }
        )
    }

    fn num(&mut self, e: &Expr) -> NumNode {
        match e {
            Expr::Column(c) => NumNode::Col(self.slots.slot(c, false)),
            Expr::Num(x) => NumNode::Lit(*x),
            Expr::Stat(s, c) => {
                let v = (self.stat)(*s, c);
                let text = Expr::stat_text(*s, c);
                if !self.resolved.iter().any(|r| r.expr == text) {
                    self.resolved.push(ResolvedStat {
                        expr: text,
                        value: v,
                    });
                }
                NumNode::Lit(v.unwrap_or(f64::NAN))
            }
            Expr::Neg(x) => match self.num(x) {
                NumNode::Lit(v) => NumNode::Lit(-v),
                n => NumNode::Neg(Box::new(n)),
            },
            Expr::Arith(op, a, b) => match (self.num(a), self.num(b)) {
                (NumNode::Lit(x), NumNode::Lit(y)) => NumNode::Lit(arith(*op, x, y)),
                (x, y) => NumNode::Arith(*op, Box::new(x), Box::new(y)),
            },
            _ => NumNode::Lit(f64::NAN),
        }
    }

    fn text(&mut self, e: &Expr) -> TextNode {
        match e {
            Expr::Column(c) => TextNode::Col(self.slots.slot(c, true)),
            Expr::Str(s) => TextNode::Lit(Some(s.clone())),
            _ => TextNode::Lit(None),
        }
    }

    fn cmp(&mut self, op: CmpOp, a: &Expr, b: &Expr) -> BoolNode {
        if self.is_bool(a) || self.is_bool(b) {
            return BoolNode::Lit(NULL);
        }
        if self.is_text(a) || self.is_text(b) {
            let (x, y) = (self.text(a), self.text(b));
            if let (TextNode::Lit(x), TextNode::Lit(y)) = (&x, &y) {
                return BoolNode::Lit(match (x, y) {
                    (Some(x), Some(y)) => cmp_ord(op, x.as_str().cmp(y.as_str())),
                    _ => NULL,
                });
            }
            BoolNode::CmpText(op, TextNodeBox(Box::new(x)), TextNodeBox(Box::new(y)))
        } else {
            let (x, y) = (self.num(a), self.num(b));
            if let (NumNode::Lit(x), NumNode::Lit(y)) = (&x, &y) {
                return BoolNode::Lit(tri_cmp(op, *x, *y));
            }
            BoolNode::CmpNum(op, NumNodeBox(Box::new(x)), NumNodeBox(Box::new(y)))
        }
    }

    fn boolean(&mut self, e: &Expr) -> BoolNode {
        match e {
            Expr::Bool(b) => BoolNode::Lit(Tri::from(*b)),
            Expr::Null => BoolNode::Lit(NULL),
            Expr::Cmp(op, a, b) => self.cmp(*op, a, b),
            Expr::And(a, b) => and_node(self.boolean(a), self.boolean(b)),
            Expr::Or(a, b) => or_node(self.boolean(a), self.boolean(b)),
            Expr::Not(a) => not_node(self.boolean(a)),
            Expr::Between(x, lo, hi, neg) => {
                let n = and_node(self.cmp(CmpOp::Ge, x, lo), self.cmp(CmpOp::Le, x, hi));
                if *neg { not_node(n) } else { n }
            }
            Expr::InList(x, list, neg) => {
                let mut n = BoolNode::Lit(FALSE);
                for item in list {
                    n = or_node(n, self.cmp(CmpOp::Eq, x, item));
                }
                if *neg { not_node(n) } else { n }
            }
            Expr::IsNull(x, neg) => {
                if self.is_bool(x) {
                    BoolNode::BoolIsNull(Box::new(self.boolean(x)), *neg)
                } else if self.is_text(x) {
                    BoolNode::TextIsNull(TextNodeBox(Box::new(self.text(x))), *neg)
                } else if matches!(**x, Expr::Null) {
                    BoolNode::Lit(Tri::from(!*neg))
                } else {
                    BoolNode::NumIsNull(NumNodeBox(Box::new(self.num(x))), *neg)
                }
            }
            Expr::Like {
                expr,
                pattern,
                negated,
                case_insensitive,
            } => BoolNode::Like(
                TextNodeBox(Box::new(self.text(expr))),
                LikePattern::new(pattern, *case_insensitive),
                *negated,
            ),
            _ => BoolNode::Lit(NULL),
        }
    }
}

fn and_node(a: BoolNode, b: BoolNode) -> BoolNode {
    match (a, b) {
        (BoolNode::Lit(x), BoolNode::Lit(y)) => BoolNode::Lit(and3(x, y)),
        (BoolNode::Lit(FALSE), _) | (_, BoolNode::Lit(FALSE)) => BoolNode::Lit(FALSE),
        (BoolNode::Lit(TRUE), n) | (n, BoolNode::Lit(TRUE)) => n,
        (a, b) => BoolNode::And(Box::new(a), Box::new(b)),
    }
}

fn or_node(a: BoolNode, b: BoolNode) -> BoolNode {
    match (a, b) {
        (BoolNode::Lit(x), BoolNode::Lit(y)) => BoolNode::Lit(or3(x, y)),
        (BoolNode::Lit(TRUE), _) | (_, BoolNode::Lit(TRUE)) => BoolNode::Lit(TRUE),
        (BoolNode::Lit(FALSE), n) | (n, BoolNode::Lit(FALSE)) => n,
        (a, b) => BoolNode::Or(Box::new(a), Box::new(b)),
    }
}

fn not_node(a: BoolNode) -> BoolNode {
    match a {
        BoolNode::Lit(x) => BoolNode::Lit(not3(x)),
        n => BoolNode::Not(Box::new(n)),
    }
}

#[inline]
fn and3(x: Tri, y: Tri) -> Tri {
    if x == FALSE || y == FALSE {
        FALSE
    } else if x == NULL || y == NULL {
        NULL
    } else {
        TRUE
    }
}

#[inline]
fn or3(x: Tri, y: Tri) -> Tri {
    if x == TRUE || y == TRUE {
        TRUE
    } else if x == NULL || y == NULL {
        NULL
    } else {
        FALSE
    }
}

#[inline]
fn not3(x: Tri) -> Tri {
    match x {
        TRUE => FALSE,
        FALSE => TRUE,
        _ => NULL,
    }
}

#[inline]
fn arith(op: ArithOp, x: f64, y: f64) -> f64 {
    match op {
        ArithOp::Add => x + y,
        ArithOp::Sub => x - y,
        ArithOp::Mul => x * y,
        ArithOp::Div => {
            if y == 0.0 {
                f64::NAN
            } else {
                x / y
            }
        }
    }
}

fn cmp_ord(op: CmpOp, o: std::cmp::Ordering) -> Tri {
    use std::cmp::Ordering::*;
    Tri::from(match op {
        CmpOp::Eq => o == Equal,
        CmpOp::Ne => o != Equal,
        CmpOp::Lt => o == Less,
        CmpOp::Le => o != Greater,
        CmpOp::Gt => o == Greater,
        CmpOp::Ge => o != Less,
    })
}

#[inline]
fn tri_cmp(op: CmpOp, x: f64, y: f64) -> Tri {
    if x.is_nan() || y.is_nan() {
        return NULL;
    }
    Tri::from(match op {
        CmpOp::Eq => x == y,
        CmpOp::Ne => x != y,
        CmpOp::Lt => x < y,
        CmpOp::Le => x <= y,
        CmpOp::Gt => x > y,
        CmpOp::Ge => x >= y,
    })
}

/// A LIKE pattern split once into pieces.
#[derive(Debug, Clone, PartialEq)]
pub struct LikePattern {
    pieces: Vec<LikePiece>,
    case_insensitive: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum LikePiece {
    Char(char),
    One,
    Any,
}

impl LikePattern {
    fn new(p: &str, case_insensitive: bool) -> LikePattern {
        let p = if case_insensitive {
            p.to_lowercase()
        } else {
            p.to_string()
        };
        LikePattern {
            pieces: p
                .chars()
                .map(|c| match c {
                    '%' => LikePiece::Any,
                    '_' => LikePiece::One,
                    c => LikePiece::Char(c),
                })
                .collect(),
            case_insensitive,
        }
    }

    fn matches(&self, s: &str) -> bool {
        if self.case_insensitive {
            self.matches_chars(&s.to_lowercase().chars().collect::<Vec<_>>())
        } else {
            self.matches_chars(&s.chars().collect::<Vec<_>>())
        }
    }

    /// Greedy wildcard matching with backtracking to the last `%` (linear in practice).
    fn matches_chars(&self, s: &[char]) -> bool {
        let p = &self.pieces;
        let (mut i, mut j) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while i < s.len() {
            match p.get(j) {
                Some(LikePiece::Char(c)) if *c == s[i] => {
                    i += 1;
                    j += 1;
                }
                Some(LikePiece::One) => {
                    i += 1;
                    j += 1;
                }
                Some(LikePiece::Any) => {
                    star = Some((j, i));
                    j += 1;
                }
                _ => match star {
                    Some((sj, si)) => {
                        j = sj + 1;
                        i = si + 1;
                        star = Some((sj, si + 1));
                    }
                    None => return false,
                },
            }
        }
        p[j..].iter().all(|x| *x == LikePiece::Any)
    }
}

// ---------------------------------------------------------------------------------------------
// Evaluation: whole columns at a time.

enum NumV<'a> {
    Slice(&'a [f64]),
    Owned(Vec<f64>),
    Scalar(f64),
}

impl NumV<'_> {
    fn slice(&self) -> Option<&[f64]> {
        match self {
            NumV::Slice(s) => Some(s),
            NumV::Owned(v) => Some(v),
            NumV::Scalar(_) => None,
        }
    }
}

enum TextV<'a> {
    Slice(&'a Texts),
    Ids(&'a Ids),
    Scalar(Option<&'a str>),
}

impl<'a> TextV<'a> {
    #[inline]
    fn get(&self, i: usize) -> Option<&'a str> {
        match self {
            TextV::Slice(s) => s.get(i),
            TextV::Ids(s) => Some(&s[i]),
            TextV::Scalar(x) => *x,
        }
    }
}

enum BoolV {
    Vec(Vec<Tri>),
    Scalar(Tri),
}

impl BoolNode {
    /// Evaluates the condition for every customer of the frame: one [`Tri`] each.
    pub fn eval(&self, frame: &Frame<'_>) -> Vec<Tri> {
        match eval_bool(self, frame) {
            BoolV::Vec(v) => v,
            BoolV::Scalar(x) => vec![x; frame.len],
        }
    }

    /// The constant value of a condition that does not depend on the data.
    pub fn constant(&self) -> Option<Tri> {
        match self {
            BoolNode::Lit(x) => Some(*x),
            _ => None,
        }
    }
}

fn eval_num<'a>(n: &NumNode, f: &'a Frame<'a>) -> NumV<'a> {
    match n {
        NumNode::Col(Slot(i)) => match &f.data[*i] {
            SlotData::Num(v) => NumV::Slice(v),
            // Bound as number, loaded as number: other shapes cannot happen.
            _ => NumV::Scalar(f64::NAN),
        },
        NumNode::Lit(x) => NumV::Scalar(*x),
        NumNode::Neg(x) => match eval_num(x, f) {
            NumV::Scalar(x) => NumV::Scalar(-x),
            NumV::Owned(mut v) => {
                v.iter_mut().for_each(|x| *x = -*x);
                NumV::Owned(v)
            }
            NumV::Slice(s) => NumV::Owned(s.iter().map(|x| -x).collect()),
        },
        NumNode::Arith(op, a, b) => {
            let (a, b) = (eval_num(a, f), eval_num(b, f));
            match op {
                ArithOp::Add => num_zip(a, b, |x, y| x + y),
                ArithOp::Sub => num_zip(a, b, |x, y| x - y),
                ArithOp::Mul => num_zip(a, b, |x, y| x * y),
                ArithOp::Div => num_zip(a, b, |x, y| if y == 0.0 { f64::NAN } else { x / y }),
            }
        }
    }
}

fn num_zip<'a>(a: NumV<'a>, b: NumV<'a>, g: impl Fn(f64, f64) -> f64) -> NumV<'a> {
    match (&a, &b) {
        (NumV::Scalar(x), NumV::Scalar(y)) => NumV::Scalar(g(*x, *y)),
        (NumV::Scalar(x), _) => {
            let y = b.slice().unwrap_or_default();
            NumV::Owned(y.iter().map(|&y| g(*x, y)).collect())
        }
        (_, NumV::Scalar(y)) => {
            let x = a.slice().unwrap_or_default();
            NumV::Owned(x.iter().map(|&x| g(x, *y)).collect())
        }
        _ => {
            let (x, y) = (a.slice().unwrap_or_default(), b.slice().unwrap_or_default());
            NumV::Owned(x.iter().zip(y).map(|(&x, &y)| g(x, y)).collect())
        }
    }
}

fn eval_text<'a>(n: &'a TextNode, f: &'a Frame<'a>) -> TextV<'a> {
    match n {
        TextNode::Col(Slot(i)) => match &f.data[*i] {
            SlotData::Text(v) => TextV::Slice(v),
            SlotData::Ids(v) => TextV::Ids(v),
            SlotData::Num(_) => TextV::Scalar(None),
        },
        TextNode::Lit(x) => TextV::Scalar(x.as_deref()),
    }
}

#[inline]
fn kernel(a: &NumV<'_>, b: &NumV<'_>, g: impl Fn(f64, f64) -> bool) -> BoolV {
    #[inline(always)]
    fn t(x: f64, y: f64, g: &impl Fn(f64, f64) -> bool) -> Tri {
        if x.is_nan() || y.is_nan() {
            NULL
        } else {
            Tri::from(g(x, y))
        }
    }
    match (a, b) {
        (NumV::Scalar(x), NumV::Scalar(y)) => BoolV::Scalar(t(*x, *y, &g)),
        (NumV::Scalar(x), _) => {
            let y = b.slice().unwrap_or_default();
            BoolV::Vec(y.iter().map(|&y| t(*x, y, &g)).collect())
        }
        (_, NumV::Scalar(y)) => {
            let x = a.slice().unwrap_or_default();
            BoolV::Vec(x.iter().map(|&x| t(x, *y, &g)).collect())
        }
        _ => {
            let (x, y) = (a.slice().unwrap_or_default(), b.slice().unwrap_or_default());
            BoolV::Vec(x.iter().zip(y).map(|(&x, &y)| t(x, y, &g)).collect())
        }
    }
}

fn eval_bool(n: &BoolNode, f: &Frame<'_>) -> BoolV {
    match n {
        BoolNode::Lit(x) => BoolV::Scalar(*x),
        BoolNode::CmpNum(op, a, b) => {
            let (a, b) = (eval_num(&a.0, f), eval_num(&b.0, f));
            match op {
                CmpOp::Eq => kernel(&a, &b, |x, y| x == y),
                CmpOp::Ne => kernel(&a, &b, |x, y| x != y),
                CmpOp::Lt => kernel(&a, &b, |x, y| x < y),
                CmpOp::Le => kernel(&a, &b, |x, y| x <= y),
                CmpOp::Gt => kernel(&a, &b, |x, y| x > y),
                CmpOp::Ge => kernel(&a, &b, |x, y| x >= y),
            }
        }
        BoolNode::CmpText(op, a, b) => {
            let (a, b) = (eval_text(&a.0, f), eval_text(&b.0, f));
            BoolV::Vec(
                (0..f.len)
                    .map(|i| match (a.get(i), b.get(i)) {
                        (Some(x), Some(y)) => cmp_ord(*op, x.cmp(y)),
                        _ => NULL,
                    })
                    .collect(),
            )
        }
        BoolNode::And(a, b) => match eval_bool(a, f) {
            BoolV::Scalar(FALSE) => BoolV::Scalar(FALSE),
            a => tri_zip(a, eval_bool(b, f), and3),
        },
        BoolNode::Or(a, b) => match eval_bool(a, f) {
            BoolV::Scalar(TRUE) => BoolV::Scalar(TRUE),
            a => tri_zip(a, eval_bool(b, f), or3),
        },
        BoolNode::Not(a) => match eval_bool(a, f) {
            BoolV::Scalar(x) => BoolV::Scalar(not3(x)),
            BoolV::Vec(mut v) => {
                v.iter_mut().for_each(|x| *x = not3(*x));
                BoolV::Vec(v)
            }
        },
        BoolNode::NumIsNull(a, neg) => {
            let neg = *neg;
            match eval_num(&a.0, f) {
                NumV::Scalar(x) => BoolV::Scalar(Tri::from(x.is_nan() != neg)),
                v => BoolV::Vec(
                    v.slice()
                        .unwrap_or_default()
                        .iter()
                        .map(|x| Tri::from(x.is_nan() != neg))
                        .collect(),
                ),
            }
        }
        BoolNode::TextIsNull(a, neg) => {
            let a = eval_text(&a.0, f);
            BoolV::Vec(
                (0..f.len)
                    .map(|i| Tri::from(a.get(i).is_none() != *neg))
                    .collect(),
            )
        }
        BoolNode::BoolIsNull(a, neg) => match eval_bool(a, f) {
            BoolV::Scalar(x) => BoolV::Scalar(Tri::from((x == NULL) != *neg)),
            BoolV::Vec(mut v) => {
                v.iter_mut()
                    .for_each(|x| *x = Tri::from((*x == NULL) != *neg));
                BoolV::Vec(v)
            }
        },
        BoolNode::Like(a, pat, neg) => {
            let a = eval_text(&a.0, f);
            BoolV::Vec(
                (0..f.len)
                    .map(|i| match a.get(i) {
                        Some(s) => Tri::from(pat.matches(s) != *neg),
                        None => NULL,
                    })
                    .collect(),
            )
        }
    }
}

fn tri_zip(a: BoolV, b: BoolV, g: fn(Tri, Tri) -> Tri) -> BoolV {
    match (a, b) {
        (BoolV::Scalar(x), BoolV::Scalar(y)) => BoolV::Scalar(g(x, y)),
        (BoolV::Scalar(x), BoolV::Vec(mut v)) | (BoolV::Vec(mut v), BoolV::Scalar(x)) => {
            v.iter_mut().for_each(|y| *y = g(*y, x));
            BoolV::Vec(v)
        }
        (BoolV::Vec(mut v), BoolV::Vec(w)) => {
            v.iter_mut().zip(w).for_each(|(x, y)| *x = g(*x, y));
            BoolV::Vec(v)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Statistics

/// A statistic over a column's non-NULL (and non-NaN) values; `None` when there are none or the
/// column is missing or text.
pub fn column_stat(table: &CustomerTable, stat: Stat, column: &str) -> Option<f64> {
    StatCache::new(table).get(stat, column)
}

/// Computes statistics over a table's columns, sorting each column at most once (a scheme with
/// p90, p70 and p50 of one column pays for one sort).
#[derive(Debug)]
pub struct StatCache<'a> {
    table: &'a CustomerTable,
    sorted: std::collections::HashMap<String, Vec<f64>>,
}

impl<'a> StatCache<'a> {
    /// An empty cache over `table`.
    pub fn new(table: &'a CustomerTable) -> StatCache<'a> {
        StatCache {
            table,
            sorted: std::collections::HashMap::new(),
        }
    }

    /// The statistic, or `None` when the column has no non-NULL numbers.
    pub fn get(&mut self, stat: Stat, column: &str) -> Option<f64> {
        let Stat::Percentile(p) = stat else {
            let data = self.table.get(column)?;
            let vals = (0..data.len())
                .filter_map(|i| data.number(i))
                .filter(|x| !x.is_nan());
            let (mut n, mut sum, mut lo, mut hi) = (0usize, 0.0, f64::INFINITY, f64::NEG_INFINITY);
            for x in vals {
                n += 1;
                sum += x;
                lo = lo.min(x);
                hi = hi.max(x);
            }
            return (n > 0).then(|| match stat {
                Stat::Min => lo,
                Stat::Max => hi,
                _ => sum / n as f64,
            });
        };
        if !self.sorted.contains_key(column) {
            let data = self.table.get(column)?;
            let mut v: Vec<f64> = (0..data.len())
                .filter_map(|i| data.number(i))
                .filter(|x| !x.is_nan())
                .collect();
            v.sort_unstable_by(f64::total_cmp);
            self.sorted.insert(column.to_string(), v);
        }
        let v = self.sorted.get(column)?;
        if v.is_empty() {
            return None;
        }
        let h = (v.len() - 1) as f64 * p.clamp(0.0, 1.0);
        let lo = h.floor() as usize;
        let hi = (lo + 1).min(v.len() - 1);
        Some(v[lo] + (h - lo as f64) * (v[hi] - v[lo]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> CustomerTable {
        let mut t = CustomerTable::new(vec!["a".into(), "b".into(), "c".into(), "d".into()]);
        t.push(
            "orders",
            ColumnData::Int(vec![Some(20), Some(5), None, Some(12)].into()),
        )
        .unwrap();
        t.push(
            "monetary",
            ColumnData::Float(vec![Some(600.0), Some(50.0), Some(10.0), None].into()),
        )
        .unwrap();
        t.push(
            "city",
            ColumnData::Text(vec![Some("北京"), Some("上海"), None, Some("Beijing")].into()),
        )
        .unwrap();
        t.push(
            "last_purchase",
            ColumnData::Date(
                vec![
                    Day::from_ymd(2024, 1, 1),
                    Day::from_ymd(2023, 6, 1),
                    None,
                    Day::from_ymd(2024, 3, 1),
                ]
                .into(),
            ),
        )
        .unwrap();
        t
    }

    /// Parses, checks, binds and evaluates one condition on the test table.
    fn run(src: &str) -> Vec<Tri> {
        let t = table();
        let schema = TableSchema::of(&t);
        let e = coerce_dates(parse(src).unwrap(), &schema);
        assert_eq!(type_check(&e, &schema), vec![], "{src}");
        let mut slots = Slots::default();
        let mut res = Vec::new();
        let n = bind(
            &e,
            &schema,
            &mut slots,
            &mut |s, c| column_stat(&t, s, c),
            &mut res,
        );
        n.eval(&slots.load(&t).unwrap())
    }

    const N: Tri = NULL;

    #[test]
    fn comparisons_follow_three_valued_logic() {
        assert_eq!(run("orders > 10"), [1, 0, N, 1]);
        assert_eq!(run("NOT orders > 10"), [0, 1, N, 0]);
        assert_eq!(run("orders > 10 AND monetary > 100"), [1, 0, 0, N]);
        assert_eq!(run("orders > 10 OR monetary > 100"), [1, 0, N, 1]);
        assert_eq!(run("orders > 100 AND monetary > 1"), [0, 0, N, 0]);
        assert_eq!(run("orders IS NULL"), [0, 0, 1, 0]);
        assert_eq!(run("monetary IS NOT NULL"), [1, 1, 1, 0]);
        assert_eq!(run("(orders > 10) IS NULL"), [0, 0, 1, 0]);
    }

    #[test]
    fn arithmetic_between_in_and_division_by_zero() {
        assert_eq!(run("monetary / orders >= 10"), [1, 1, N, N]);
        assert_eq!(run("monetary / (orders - 5) > 0"), [1, N, N, N]);
        assert_eq!(run("orders * 2 + 1 = 41"), [1, 0, N, 0]);
        assert_eq!(run("-orders < -10"), [1, 0, N, 1]);
        assert_eq!(run("orders BETWEEN 5 AND 12"), [0, 1, N, 1]);
        assert_eq!(run("orders NOT BETWEEN 5 AND 12"), [1, 0, N, 0]);
        assert_eq!(run("orders IN (5, 20)"), [1, 1, N, 0]);
        assert_eq!(run("orders NOT IN (5, 20)"), [0, 0, N, 1]);
        assert_eq!(run("orders IN (5, NULL)"), [N, 1, N, N]);
    }

    #[test]
    fn text_dates_and_like() {
        assert_eq!(run("city = '北京'"), [1, 0, N, 0]);
        assert_eq!(run("city <> '北京'"), [0, 1, N, 1]);
        assert_eq!(run("city IN ('北京', '上海')"), [1, 1, N, 0]);
        assert_eq!(run("city LIKE 'Bei%'"), [0, 0, N, 1]);
        assert_eq!(run("city ILIKE 'bei_ing'"), [0, 0, N, 1]);
        assert_eq!(run("city NOT LIKE '%京'"), [0, 1, N, 1]);
        assert_eq!(run("customer_id = 'b'"), [0, 1, 0, 0]);
        assert_eq!(run("last_purchase >= '2024-01-01'"), [1, 0, N, 1]);
        assert_eq!(
            run("last_purchase BETWEEN '2023-01-01' AND '2024-01-31'"),
            [1, 1, N, 0]
        );
    }

    #[test]
    fn statistics_resolve_against_the_table() {
        // orders non-null: 5, 12, 20 → p50 = 12, mean = 12.33
        assert_eq!(run("orders >= p50(orders)"), [1, 0, N, 1]);
        assert_eq!(run("orders >= median(orders)"), [1, 0, N, 1]);
        assert_eq!(run("orders > mean(orders)"), [1, 0, N, 0]);
        assert_eq!(run("orders >= percentile(orders, 1.0)"), [1, 0, N, 0]);
        assert_eq!(
            run("orders = max(orders) OR orders = min(orders)"),
            [1, 1, N, 0]
        );
        let t = table();
        assert_eq!(column_stat(&t, Stat::Percentile(0.25), "orders"), Some(8.5));
        assert_eq!(column_stat(&t, Stat::Mean, "city"), None);
    }

    #[test]
    fn constants_fold() {
        assert_eq!(run("1 < 2"), [1, 1, 1, 1]);
        assert_eq!(run("NULL AND FALSE"), [0, 0, 0, 0]);
        assert_eq!(run("NULL OR TRUE"), [1, 1, 1, 1]);
        assert_eq!(run("NULL IS NULL"), [1, 1, 1, 1]);
    }

    #[test]
    fn parse_errors_say_what_is_wrong() {
        let e = parse("orders >").unwrap_err();
        assert!(e.contains("Expected"), "{e}");
        let e = parse("orders > 5 monetary").unwrap_err();
        assert_eq!(e, "unexpected `monetary` after the end of the expression");
        let e = parse("t.orders > 5").unwrap_err();
        assert!(e.contains("use the bare column name `orders`"), "{e}");
        let e = parse("foo(orders) > 1").unwrap_err();
        assert!(e.starts_with("unknown function `foo`"), "{e}");
        assert!(parse("orders > (SELECT 1)").is_err());
    }

    #[test]
    fn type_errors_name_both_sides() {
        let t = table();
        let s = TableSchema::of(&t);
        let issues = |src: &str| type_check(&coerce_dates(parse(src).unwrap(), &s), &s);
        assert_eq!(
            issues("orders > 'ten'"),
            vec![ExprIssue::Type(
                "cannot compare `orders` (a number) with `'ten'` (text) in `orders > 'ten'`; \
                 quote text as 'text' and compare numbers with numbers (a date column compares \
                 with 'YYYY-MM-DD')"
                    .into()
            )]
        );
        assert_eq!(
            issues("orders + 1"),
            vec![ExprIssue::Type(
                "the condition must be true or false, but `(orders + 1)` is a number; compare \
                 it, e.g. `(orders + 1) > 0`"
                    .into()
            )]
        );
        assert_eq!(
            issues("ordres > 1 AND xyz = 2"),
            vec![
                ExprIssue::UnknownColumn("ordres".into()),
                ExprIssue::UnknownColumn("xyz".into())
            ]
        );
        assert!(!issues("city + 1 > 2").is_empty());
        assert!(!issues("orders AND monetary > 1").is_empty());
        assert!(!issues("p80(city) > 1").is_empty());
        assert!(!issues("orders LIKE 'a%'").is_empty());
    }

    #[test]
    fn like_matching() {
        let p = LikePattern::new("a%b_c", false);
        assert!(p.matches("abxc"));
        assert!(p.matches("a123b4c"));
        assert!(!p.matches("a123b4cd"));
        assert!(LikePattern::new("%", false).matches(""));
        assert!(LikePattern::new("%%a", false).matches("bba"));
        assert!(!LikePattern::new("_", false).matches(""));
    }
}
