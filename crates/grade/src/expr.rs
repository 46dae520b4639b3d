//! Conditions: SQL boolean expressions over customer-table columns.
//!
//! sqlparser parses the text once; [`parse`] turns its tree into the small [`Expr`] subset we
//! support, [`type_check`] finds unknown columns and type errors against a [`TableSchema`], and
//! [`bind`] resolves table statistics (`p80(monetary)`, `mean(orders)`) and produces a typed
//! [`BoolNode`] that is evaluated column-wise over whole slices — never re-parsed per row.
//!
//! NULL follows SQL three-valued logic: comparisons with NULL are NULL, `NULL AND FALSE` is
//! false, and a rule whose condition is NULL does not match. Division by zero and NaN are NULL.

use clientele_core::columns as col;
use std::fmt;

use clientele_core::{ColumnData, CoreError, CustomerTable, Day, Ids, Lang, Note, Texts};
use sqlparser::ast::{
    self, BinaryOperator, FunctionArg, FunctionArgExpr, FunctionArguments, UnaryOperator,
};
use sqlparser::dialect::GenericDialect;
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

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
    /// `+ - * /` as a left fold: the first operand, then each operator and operand in turn
    /// (`a - b + c` is `((a - b) + c)`), so long chains are not deep trees.
    Arith(Box<Expr>, Vec<(ArithOp, Expr)>),
    /// `= <> < <= > >=`.
    Cmp(CmpOp, Box<Expr>, Box<Expr>),
    /// `AND` of two or more conditions.
    And(Vec<Expr>),
    /// `OR` of two or more conditions.
    Or(Vec<Expr>),
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
    pub(crate) fn stat_text(stat: Stat, col: &str) -> String {
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
            Expr::Arith(first, rest) => {
                for _ in rest {
                    f.write_str("(")?;
                }
                write!(f, "{first}")?;
                for (op, x) in rest {
                    let o = match op {
                        ArithOp::Add => "+",
                        ArithOp::Sub => "-",
                        ArithOp::Mul => "*",
                        ArithOp::Div => "/",
                    };
                    write!(f, " {o} {x})")?;
                }
                Ok(())
            }
            Expr::Cmp(op, a, b) => write!(f, "{a} {} {b}", cmp_str(*op)),
            Expr::And(v) | Expr::Or(v) => {
                let op = if matches!(self, Expr::And(_)) {
                    " AND "
                } else {
                    " OR "
                };
                f.write_str("(")?;
                for (i, x) in v.iter().enumerate() {
                    if i > 0 {
                        f.write_str(op)?;
                    }
                    write!(f, "{x}")?;
                }
                f.write_str(")")
            }
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
                write!(f, "{e} {}IN (", if *neg { "NOT " } else { "" })?;
                for (i, x) in list.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{x}")?;
                }
                f.write_str(")")
            }
            Expr::Like {
                expr,
                pattern,
                negated,
                case_insensitive,
            } => write!(
                f,
                "{expr} {}{} '{}'",
                if *negated { "NOT " } else { "" },
                if *case_insensitive { "ILIKE" } else { "LIKE" },
                pattern.replace('\'', "''")
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
//
// A condition is tokenized once. Its top level (AND, OR, NOT and parentheses around whole
// conditions) is split here, without recursion that grows with the input: a chain of 10,000 ORs
// becomes one n-ary node. What remains between the ANDs and ORs (`orders > 15`,
// `customer_id IN (…)`) is parsed by sqlparser, whose trees are converted with a depth counter
// and whose left-leaning operator chains (`a + b + c`) are walked in a loop. Every recursion is
// bounded by [`MAX_DEPTH`], and each term's operator chains by [`MAX_TERM_TOKENS`], so no
// condition can overflow the stack (the main thread's or a 2 MiB worker thread's), and no
// sqlparser tree is deep enough to overflow when sqlparser itself drops it.

/// Longest condition accepted, in bytes (1 MiB). A list of 50,000 customer ids fits.
pub const MAX_CONDITION_BYTES: usize = 1 << 20;

/// Deepest nesting accepted: levels of parentheses, NOT, unary minus, IS NULL and operands.
pub const MAX_DEPTH: usize = 64;

/// Most tokens one term may hold in a row at one parenthesis level without a comma, e.g. the
/// operands and operators of `a + b + c + …`. Chains of AND/OR and lists in `IN (…)` are not
/// limited by this.
pub const MAX_TERM_TOKENS: usize = 2_000;

/// sqlparser's own recursion limit for a term: enough for [`MAX_DEPTH`] parentheses (each costs
/// it two levels); exceeding it is reported as [`ParseError::TooDeep`].
const SQL_RECURSION_LIMIT: usize = 2 * MAX_DEPTH + 8;

/// Why a condition does not parse. The message says what is wrong; [`ParseError::fix`] says
/// how to fix it. Both are worded in English ([`std::fmt::Display`]) and in Chinese
/// ([`ParseError::zh`], [`ParseError::fix_zh`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseError {
    /// The condition is empty or blank.
    Empty,
    /// The condition is longer than [`MAX_CONDITION_BYTES`].
    TooLong {
        /// Its length in bytes.
        bytes: usize,
    },
    /// Nested deeper than [`MAX_DEPTH`] levels.
    TooDeep,
    /// A run of more than [`MAX_TERM_TOKENS`] tokens (e.g. `a + b + c + …`).
    TooLongTerm {
        /// Where the run passes the limit.
        at: Pos,
    },
    /// A parenthesis (or bracket, or CASE … END) without its partner.
    Unbalanced(Note),
    /// Bad syntax: ours for misplaced AND/OR/NOT, or sqlparser's message (English in both
    /// languages: it words it only so).
    Syntax(Note),
    /// Valid SQL that conditions do not support (subqueries, CASE, unknown functions, …).
    Unsupported(Note),
}

/// Where a token is in a condition, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    /// 1-based line.
    pub line: u64,
    /// 1-based column.
    pub column: u64,
}

impl Pos {
    /// The same in Chinese (`第 9 列`, `第 2 行第 5 列`).
    pub fn zh(self) -> String {
        if self.line <= 1 {
            format!("第 {} 列", self.column)
        } else {
            format!("第 {} 行第 {} 列", self.line, self.column)
        }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line <= 1 {
            write!(f, "column {}", self.column)
        } else {
            write!(f, "line {}, column {}", self.line, self.column)
        }
    }
}

impl ParseError {
    /// How to fix it, in one sentence.
    pub fn fix(&self) -> String {
        match self {
            ParseError::Empty => {
                "write a condition such as `orders > 10`, or `TRUE` to match every customer".into()
            }
            ParseError::TooLong { .. } => format!(
                "shorten the condition below {} bytes: put a long list of ids in a column of the \
                 data (e.g. a `vip` flag) and test that column, or split it over several rules",
                MAX_CONDITION_BYTES
            ),
            ParseError::TooDeep => format!(
                "remove redundant parentheses and double NOTs (at most {MAX_DEPTH} levels), write \
                 long alternatives as `a OR b OR c` or `x IN (…)`, or split the rule"
            ),
            ParseError::TooLongTerm { .. } => format!(
                "a term may chain at most {MAX_TERM_TOKENS} tokens; join conditions with AND/OR, \
                 or list values with `x IN (…)`"
            ),
            ParseError::Unbalanced(_) => "close every `(` with a `)`".into(),
            ParseError::Syntax(_) | ParseError::Unsupported(_) => {
                "write a SQL condition such as `orders > 10 AND monetary >= 500`".into()
            }
        }
    }

    /// [`ParseError::fix`] in Chinese.
    pub fn fix_zh(&self) -> String {
        match self {
            ParseError::Empty => "写一个条件，例如 `orders > 10`；要匹配所有客户请写 `TRUE`".into(),
            ParseError::TooLong { .. } => format!(
                "把条件缩短到 {MAX_CONDITION_BYTES} 字节以内：把一长串 id 放进数据的一列（例如 \
                 `vip` 标记）再判断这一列，或拆成几条规则"
            ),
            ParseError::TooDeep => format!(
                "去掉多余的括号和重复的 NOT（最多 {MAX_DEPTH} 层），把一长串选项写成 \
                 `a OR b OR c` 或 `x IN (…)`，或拆分规则"
            ),
            ParseError::TooLongTerm { .. } => format!(
                "一项最多连续 {MAX_TERM_TOKENS} 个记号；用 AND/OR 连接条件，或用 `x IN (…)` 列出取值"
            ),
            ParseError::Unbalanced(_) => "每个 `(` 都要有对应的 `)`".into(),
            ParseError::Syntax(_) | ParseError::Unsupported(_) => {
                "写成 SQL 条件，例如 `orders > 10 AND monetary >= 500`".into()
            }
        }
    }

    /// The message in Chinese (the English is [`std::fmt::Display`]).
    pub fn zh(&self) -> String {
        match self {
            ParseError::Empty => "条件为空".into(),
            ParseError::TooLong { bytes } => {
                format!("条件长 {bytes} 字节，超过了 {MAX_CONDITION_BYTES} 字节的上限")
            }
            ParseError::TooDeep => {
                format!("条件嵌套超过 {MAX_DEPTH} 层（括号、NOT、负号、IS NULL 等）")
            }
            ParseError::TooLongTerm { at } => format!(
                "条件中有一项连续超过 {MAX_TERM_TOKENS} 个记号，中间没有 AND、OR 或逗号（{}）",
                at.zh()
            ),
            ParseError::Unbalanced(m) | ParseError::Syntax(m) | ParseError::Unsupported(m) => {
                m.zh.clone()
            }
        }
    }

    /// True for the size and nesting limits (as opposed to bad syntax).
    pub fn is_limit(&self) -> bool {
        matches!(
            self,
            ParseError::TooLong { .. } | ParseError::TooDeep | ParseError::TooLongTerm { .. }
        )
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Empty => f.write_str("the condition is empty"),
            ParseError::TooLong { bytes } => write!(
                f,
                "the condition is {bytes} bytes long; the limit is {MAX_CONDITION_BYTES} bytes"
            ),
            ParseError::TooDeep => write!(
                f,
                "the condition nests more than {MAX_DEPTH} levels deep (parentheses, NOT, unary \
                 minus, IS NULL, …)"
            ),
            ParseError::TooLongTerm { at } => write!(
                f,
                "a term of the condition is longer than {MAX_TERM_TOKENS} tokens without AND, OR \
                 or a comma ({at})"
            ),
            ParseError::Unbalanced(m) | ParseError::Syntax(m) | ParseError::Unsupported(m) => {
                f.write_str(&m.en)
            }
        }
    }
}

impl std::error::Error for ParseError {}

/// At most `max` characters of `s`, with `…` and the full length when cut: long conditions
/// are quoted in messages without repeating a megabyte of text.
pub fn clip(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    clip_in(s, max, Lang::En)
}

/// [`clip_in`] in both languages, for a message that carries both.
pub fn clipped(s: &str, max: usize) -> Note {
    Note::new(clip_in(s, max, Lang::Zh), clip_in(s, max, Lang::En))
}

/// [`clip`], with the full length said in `lang`.
pub fn clip_in(s: &str, max: usize, lang: Lang) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(max) {
        None => std::borrow::Cow::Borrowed(s),
        Some((end, _)) => {
            let n = s.chars().count();
            std::borrow::Cow::Owned(match lang {
                Lang::En => format!("{}… ({n} characters)", &s[..end]),
                Lang::Zh => format!("{}…（共 {n} 个字符）", &s[..end]),
            })
        }
    }
}

/// Longest quote of an expression in a message.
const QUOTE_CHARS: usize = 120;

/// An expression as quoted in messages (clipped).
fn quote(e: &impl fmt::Display) -> String {
    quote_in(e, Lang::En)
}

/// [`quote`] for a message in `lang`.
fn quote_in(e: &impl fmt::Display, lang: Lang) -> String {
    clip_in(&e.to_string(), QUOTE_CHARS, lang).into_owned()
}

/// Parses a condition.
pub fn parse(src: &str) -> Result<Expr, ParseError> {
    if src.len() > MAX_CONDITION_BYTES {
        return Err(ParseError::TooLong { bytes: src.len() });
    }
    if src.trim().is_empty() {
        return Err(ParseError::Empty);
    }
    let dialect = GenericDialect {};
    let tokens: Vec<TokenWithSpan> = Tokenizer::new(&dialect, src)
        .tokenize_with_location()
        .map_err(|e| ParseError::Syntax(parser_said(&e)))?
        .into_iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_)))
        .collect();
    if tokens.is_empty() {
        return Err(ParseError::Empty);
    }
    let close = partners(&tokens)?;
    let top = Top {
        tokens: &tokens,
        close: &close,
        dialect: &dialect,
    };
    top.or_chain(0, tokens.len(), 0)
}

/// Where a token is, for messages.
fn at(t: &TokenWithSpan) -> Pos {
    Pos {
        line: t.span.start.line,
        column: t.span.start.column,
    }
}

/// sqlparser's own message (it words it in English only), introduced in Chinese.
fn parser_said(e: &impl fmt::Display) -> Note {
    let said = e.to_string();
    Note::new(format!("条件的写法有误（SQL 解析器：{said}）"), said)
}

fn is_keyword(t: &TokenWithSpan, k: Keyword) -> bool {
    matches!(&t.token, Token::Word(w) if w.keyword == k && w.quote_style.is_none())
}

/// The closing partner of an opening token, if it is one.
fn closer_of(t: &TokenWithSpan) -> Option<&'static str> {
    match &t.token {
        Token::LParen => Some(")"),
        Token::LBracket => Some("]"),
        Token::LBrace => Some("}"),
        Token::Word(w) if w.keyword == Keyword::CASE && w.quote_style.is_none() => Some("END"),
        _ => None,
    }
}

fn closing(t: &TokenWithSpan) -> Option<&'static str> {
    match &t.token {
        Token::RParen => Some(")"),
        Token::RBracket => Some("]"),
        Token::RBrace => Some("}"),
        Token::Word(w) if w.keyword == Keyword::END && w.quote_style.is_none() => Some("END"),
        _ => None,
    }
}

/// For every opening token (`(`, `[`, `{`, CASE) the index of its partner; `usize::MAX` for
/// other tokens. Unbalanced text is an error here, before anything is parsed.
fn partners(tokens: &[TokenWithSpan]) -> Result<Vec<usize>, ParseError> {
    let mut close = vec![usize::MAX; tokens.len()];
    let mut open: Vec<usize> = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        if closer_of(t).is_some() {
            open.push(i);
        } else if let Some(c) = closing(t) {
            match open.pop() {
                Some(o) if closer_of(&tokens[o]) == Some(c) => close[o] = i,
                Some(o) => {
                    let (open, close) = (&tokens[o], t);
                    return Err(ParseError::Unbalanced(Note::new(
                        format!(
                            "{}的 `{}` 与{}的 `{}` 不配对",
                            at(close).zh(),
                            close.token,
                            at(open).zh(),
                            open.token
                        ),
                        format!(
                            "`{}` at {} does not match `{}` at {}",
                            close.token,
                            at(close),
                            open.token,
                            at(open)
                        ),
                    )));
                }
                None => {
                    let opener = match c {
                        ")" => "(",
                        "]" => "[",
                        "}" => "{",
                        _ => "CASE",
                    };
                    return Err(ParseError::Unbalanced(Note::new(
                        format!(
                            "{}的 `{}` 前面没有与之配对的 `{opener}`",
                            at(t).zh(),
                            t.token
                        ),
                        format!("`{}` at {} has no opening partner", t.token, at(t)),
                    )));
                }
            }
        }
    }
    match open.first() {
        None => Ok(close),
        Some(&o) => {
            let (t, n) = (&tokens[o], open.len());
            let (all_zh, all_en) = if n > 1 {
                (
                    format!("（共 {n} 处没有闭合）"),
                    format!(" ({n} unclosed in all)"),
                )
            } else {
                (String::new(), String::new())
            };
            Err(ParseError::Unbalanced(Note::new(
                format!("{}的 `{}` 没有闭合{all_zh}", at(t).zh(), t.token),
                format!("`{}` at {} is never closed{all_en}", t.token, at(t)),
            )))
        }
    }
}

/// The top level of a condition: AND, OR, NOT and whole parenthesized conditions, split over
/// the token list. Recursion only enters parentheses, and stops at [`MAX_DEPTH`].
struct Top<'t> {
    tokens: &'t [TokenWithSpan],
    close: &'t [usize],
    dialect: &'t GenericDialect,
}

impl Top<'_> {
    /// Splits `a..b` at top-level `kw` (AND or OR). The AND of `x BETWEEN lo AND hi` is not a
    /// split point.
    fn split(&self, a: usize, b: usize, kw: Keyword) -> Result<Vec<(usize, usize)>, ParseError> {
        let mut parts = Vec::new();
        let (mut start, mut i, mut between) = (a, a, 0usize);
        while i < b {
            let t = &self.tokens[i];
            if self.close[i] != usize::MAX {
                i = self.close[i] + 1;
                continue;
            }
            if is_keyword(t, Keyword::BETWEEN) {
                between += 1;
            } else if is_keyword(t, kw) {
                if kw == Keyword::AND && between > 0 {
                    between -= 1;
                } else {
                    if start == i {
                        return Err(ParseError::Syntax(Note::new(
                            format!("{}的 `{}` 前面缺少条件", at(t).zh(), t.token),
                            format!("`{}` at {} has no condition before it", t.token, at(t)),
                        )));
                    }
                    parts.push((start, i));
                    start = i + 1;
                }
            }
            i += 1;
        }
        if start == b {
            let t = &self.tokens[b - 1];
            return Err(ParseError::Syntax(Note::new(
                format!("{}的 `{}` 后面缺少条件", at(t).zh(), t.token),
                format!("`{}` at {} has no condition after it", t.token, at(t)),
            )));
        }
        parts.push((start, b));
        Ok(parts)
    }

    fn or_chain(&self, a: usize, b: usize, depth: usize) -> Result<Expr, ParseError> {
        let mut items = Vec::new();
        for (x, y) in self.split(a, b, Keyword::OR)? {
            match self.and_chain(x, y, depth)? {
                Expr::Or(v) => items.extend(v),
                e => items.push(e),
            }
        }
        Ok(one_or(items, Expr::Or))
    }

    fn and_chain(&self, a: usize, b: usize, depth: usize) -> Result<Expr, ParseError> {
        let mut items = Vec::new();
        for (x, y) in self.split(a, b, Keyword::AND)? {
            match self.term(x, y, depth)? {
                Expr::And(v) => items.extend(v),
                e => items.push(e),
            }
        }
        Ok(one_or(items, Expr::And))
    }

    /// `NOT … NOT x`, where `x` is a parenthesized condition or a sqlparser term.
    fn term(&self, a: usize, b: usize, depth: usize) -> Result<Expr, ParseError> {
        let mut nots = 0;
        while a + nots < b && is_keyword(&self.tokens[a + nots], Keyword::NOT) {
            nots += 1;
        }
        if depth + nots > MAX_DEPTH {
            return Err(ParseError::TooDeep);
        }
        let (a, depth) = (a + nots, depth + nots);
        if a == b {
            let t = &self.tokens[b - 1];
            return Err(ParseError::Syntax(Note::new(
                format!("{}的 `NOT` 后面缺少条件", at(t).zh()),
                format!("`NOT` at {} has no condition after it", at(t)),
            )));
        }
        let mut e = if matches!(self.tokens[a].token, Token::LParen) && self.close[a] == b - 1 {
            if depth + 1 > MAX_DEPTH {
                return Err(ParseError::TooDeep);
            }
            if a + 1 == b - 1 {
                let t = &self.tokens[a];
                return Err(ParseError::Syntax(Note::new(
                    format!("{}是空括号 `()`", at(t).zh()),
                    format!("empty parentheses `()` at {}", at(t)),
                )));
            }
            self.or_chain(a + 1, b - 1, depth + 1)?
        } else {
            self.leaf(a, b, depth)?
        };
        for _ in 0..nots {
            e = Expr::Not(Box::new(e));
        }
        Ok(e)
    }

    /// A term without top-level AND/OR: checked for long runs, then parsed by sqlparser.
    fn leaf(&self, a: usize, b: usize, depth: usize) -> Result<Expr, ParseError> {
        let toks = &self.tokens[a..b];
        let mut runs: Vec<usize> = vec![0];
        for t in toks {
            if closing(t).is_some() {
                runs.pop();
            } else if matches!(t.token, Token::Comma) {
                if let Some(r) = runs.last_mut() {
                    *r = 0;
                }
            } else {
                let r = runs.last_mut().map_or(0, |r| {
                    *r += 1;
                    *r
                });
                if r > MAX_TERM_TOKENS {
                    return Err(ParseError::TooLongTerm { at: at(t) });
                }
                if closer_of(t).is_some() {
                    runs.push(0);
                }
            }
        }
        let mut p = Parser::new(self.dialect)
            .with_recursion_limit(SQL_RECURSION_LIMIT)
            .with_tokens_with_locations(toks.to_vec());
        let e = p.parse_expr().map_err(|e| match e {
            ParserError::RecursionLimitExceeded => ParseError::TooDeep,
            other => ParseError::Syntax(parser_said(&other)),
        })?;
        let next = p.peek_token();
        if next.token != Token::EOF {
            return Err(ParseError::Syntax(Note::new(
                format!("表达式结束后多出了 `{}`", next.token),
                format!(
                    "unexpected `{}` after the end of the expression",
                    next.token
                ),
            )));
        }
        convert(&e, depth)
    }
}

/// One item as itself, several as an n-ary node.
fn one_or(mut items: Vec<Expr>, many: fn(Vec<Expr>) -> Expr) -> Expr {
    if items.len() == 1 {
        items.pop().unwrap_or(Expr::Null)
    } else {
        many(items)
    }
}

fn unsupported(e: &ast::Expr) -> ParseError {
    ParseError::Unsupported(Note::new(
        format!(
            "条件中不支持 `{}`（可以用：列、数字、'文本'、比较、AND/OR/NOT、+ - * /、BETWEEN、\
             IN (...)、IS [NOT] NULL、LIKE、pNN(col)、percentile(col, p)、\
             mean/median/min/max(col)）",
            quote_in(e, Lang::Zh)
        ),
        format!(
            "`{}` is not supported in conditions (use columns, numbers, 'text', comparisons, \
             AND/OR/NOT, + - * /, BETWEEN, IN (...), IS [NOT] NULL, LIKE, pNN(col), \
             percentile(col, p), mean/median/min/max(col))",
            quote(e)
        ),
    ))
}

fn arith_op(op: &BinaryOperator) -> Option<ArithOp> {
    Some(match op {
        BinaryOperator::Plus => ArithOp::Add,
        BinaryOperator::Minus => ArithOp::Sub,
        BinaryOperator::Multiply => ArithOp::Mul,
        BinaryOperator::Divide => ArithOp::Div,
        _ => return None,
    })
}

fn cmp_op(op: &BinaryOperator) -> Option<CmpOp> {
    Some(match op {
        BinaryOperator::Eq => CmpOp::Eq,
        BinaryOperator::NotEq => CmpOp::Ne,
        BinaryOperator::Lt => CmpOp::Lt,
        BinaryOperator::LtEq => CmpOp::Le,
        BinaryOperator::Gt => CmpOp::Gt,
        BinaryOperator::GtEq => CmpOp::Ge,
        _ => return None,
    })
}

/// Converts a sqlparser tree. Every recursive call goes one level deeper and stops at
/// [`MAX_DEPTH`]; left-leaning chains of AND/OR and of arithmetic are walked in a loop.
fn convert(e: &ast::Expr, depth: usize) -> Result<Expr, ParseError> {
    use ast::Expr as S;
    if depth > MAX_DEPTH {
        return Err(ParseError::TooDeep);
    }
    let d = depth + 1;
    let b = |x: &ast::Expr| convert(x, d).map(Box::new);
    Ok(match e {
        S::Identifier(id) => Expr::Column(id.value.clone()),
        S::CompoundIdentifier(parts) => {
            let bare = parts.last().map(|p| p.value.as_str()).unwrap_or_default();
            return Err(ParseError::Unsupported(Note::new(
                format!(
                    "不支持带前缀的名称 `{}`：请直接写列名 `{bare}`",
                    quote_in(e, Lang::Zh)
                ),
                format!(
                    "qualified name `{}` is not supported: use the bare column name `{bare}`",
                    quote(e)
                ),
            )));
        }
        S::Value(v) => match &v.value {
            ast::Value::Number(s, _) => Expr::Num(number(s)?),
            ast::Value::SingleQuotedString(s) => Expr::Str(s.clone()),
            ast::Value::Boolean(x) => Expr::Bool(*x),
            ast::Value::Null => Expr::Null,
            _ => return Err(unsupported(e)),
        },
        S::Nested(inner) => convert(inner, d)?,
        S::UnaryOp { op, expr } => match op {
            UnaryOperator::Not => Expr::Not(b(expr)?),
            UnaryOperator::Minus => match convert(expr, d)? {
                Expr::Num(x) => Expr::Num(-x),
                other => Expr::Neg(Box::new(other)),
            },
            UnaryOperator::Plus => convert(expr, d)?,
            _ => return Err(unsupported(e)),
        },
        S::BinaryOp {
            op: BinaryOperator::And | BinaryOperator::Or,
            ..
        } => logic_chain(e, d)?,
        S::BinaryOp { op, .. } if arith_op(op).is_some() => arith_chain(e, d)?,
        S::BinaryOp { left, op, right } => match cmp_op(op) {
            Some(c) => Expr::Cmp(c, b(left)?, b(right)?),
            None => return Err(unsupported(e)),
        },
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
            list.iter()
                .map(|x| convert(x, d))
                .collect::<Result<_, _>>()?,
            *negated,
        ),
        S::Like {
            negated,
            any: false,
            expr,
            pattern,
            escape_char: None,
        } => like(expr, pattern, *negated, false, d)?,
        S::ILike {
            negated,
            any: false,
            expr,
            pattern,
            escape_char: None,
        } => like(expr, pattern, *negated, true, d)?,
        S::Function(f) => function(e, f, d)?,
        _ => return Err(unsupported(e)),
    })
}

/// A number literal; huge ones (beyond f64) are an error rather than infinity.
fn number(s: &str) -> Result<f64, ParseError> {
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(x),
        Ok(_) => Err(ParseError::Syntax(Note::new(
            format!(
                "数字 `{}` 太大（最大约为 1.8e308）",
                clip_in(s, 40, Lang::Zh)
            ),
            format!(
                "the number `{}` is too large (the largest is about 1.8e308)",
                clip(s, 40)
            ),
        ))),
        Err(_) => Err(ParseError::Syntax(Note::new(
            format!("`{}` 不是数字", clip_in(s, 40, Lang::Zh)),
            format!("`{}` is not a number", clip(s, 40)),
        ))),
    }
}

/// `a AND b OR c …` leaning left: the left spine is walked in a loop, runs of one operator
/// become one n-ary node.
fn logic_chain(e: &ast::Expr, d: usize) -> Result<Expr, ParseError> {
    let mut spine: Vec<(bool, &ast::Expr)> = Vec::new();
    let mut node = e;
    while let ast::Expr::BinaryOp { left, op, right } = node {
        let and = match op {
            BinaryOperator::And => true,
            BinaryOperator::Or => false,
            _ => break,
        };
        spine.push((and, right));
        node = left;
    }
    let mut acc = convert(node, d)?;
    let mut levels = d;
    for (and, right) in spine.into_iter().rev() {
        let r = convert(right, d)?;
        acc = match (acc, and) {
            (Expr::And(mut v), true) => {
                v.push(r);
                Expr::And(v)
            }
            (Expr::Or(mut v), false) => {
                v.push(r);
                Expr::Or(v)
            }
            (a, and) => {
                levels += 1;
                if levels > MAX_DEPTH {
                    return Err(ParseError::TooDeep);
                }
                if and {
                    Expr::And(vec![a, r])
                } else {
                    Expr::Or(vec![a, r])
                }
            }
        };
    }
    Ok(acc)
}

/// `a + b * c - d …`: the left spine is a left fold, walked in a loop.
fn arith_chain(e: &ast::Expr, d: usize) -> Result<Expr, ParseError> {
    let mut spine: Vec<(ArithOp, &ast::Expr)> = Vec::new();
    let mut node = e;
    while let ast::Expr::BinaryOp { left, op, right } = node {
        let Some(op) = arith_op(op) else { break };
        spine.push((op, right));
        node = left;
    }
    let first = convert(node, d)?;
    let rest = spine
        .into_iter()
        .rev()
        .map(|(op, x)| convert(x, d).map(|x| (op, x)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Expr::Arith(Box::new(first), rest))
}

fn like(
    expr: &ast::Expr,
    pattern: &ast::Expr,
    negated: bool,
    case_insensitive: bool,
    d: usize,
) -> Result<Expr, ParseError> {
    match convert(pattern, d)? {
        Expr::Str(p) => Ok(Expr::Like {
            expr: Box::new(convert(expr, d)?),
            pattern: p,
            negated,
            case_insensitive,
        }),
        other => Err(ParseError::Unsupported(Note::new(
            format!(
                "LIKE 的模式必须是单引号括起的文本（如 'VIP%'），而不是 `{}`",
                quote_in(&other, Lang::Zh)
            ),
            format!(
                "the LIKE pattern must be a 'quoted string', not `{}`",
                quote(&other)
            ),
        ))),
    }
}

fn function(whole: &ast::Expr, f: &ast::Function, d: usize) -> Result<Expr, ParseError> {
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
    let whole_q = quote(whole);
    let whole_zh = quote_in(whole, Lang::Zh);
    let name_q = clip(&name, 40);
    let name_zh = clip_in(&name, 40, Lang::Zh);
    // "`p80(x)`: …" in both languages
    let about = |zh: String, en: String| {
        ParseError::Unsupported(Note::new(
            format!("`{whole_zh}`：{zh}"),
            format!("`{whole_q}`: {en}"),
        ))
    };
    let column = |i: usize| -> Result<String, ParseError> {
        match args.get(i) {
            Some(ast::Expr::Identifier(id)) => Ok(id.value.clone()),
            _ => Err(about(
                format!("参数必须是列名，例如 {name_zh}(monetary)"),
                format!("the argument must be a column name, e.g. {name_q}(monetary)"),
            )),
        }
    };
    let arity = |n: usize| -> Result<(), ParseError> {
        if args.len() == n {
            Ok(())
        } else {
            Err(about(
                format!("{name_zh} 需要 {n} 个参数"),
                format!("{name_q} takes {n} argument(s)"),
            ))
        }
    };
    let stat = match name.as_str() {
        "mean" | "avg" => Stat::Mean,
        "median" => Stat::Percentile(0.5),
        "min" => Stat::Min,
        "max" => Stat::Max,
        "percentile" => {
            arity(2)?;
            let p = match convert(args[1], d)? {
                Expr::Num(p) if (0.0..=1.0).contains(&p) => p,
                _ => {
                    return Err(about(
                        "百分位必须是 0 到 1 之间的数，例如 percentile(monetary, 0.8)".into(),
                        "the percentile must be a number between 0 and 1, e.g. \
                         percentile(monetary, 0.8)"
                            .into(),
                    ));
                }
            };
            return Ok(Expr::Stat(Stat::Percentile(p), column(0)?));
        }
        n if n.len() > 1 && n.starts_with('p') && n[1..].chars().all(|c| c.is_ascii_digit()) => {
            let pct: f64 = n[1..].parse().map_err(|_| unsupported(whole))?;
            if pct > 100.0 {
                return Err(about(
                    "百分位应在 p0 到 p100 之间".into(),
                    "a percentile is between p0 and p100".into(),
                ));
            }
            Stat::Percentile(pct / 100.0)
        }
        _ => {
            return Err(ParseError::Unsupported(Note::new(
                format!(
                    "`{whole_zh}` 中的函数 `{name_zh}` 未知；可用的函数有 pNN(col)、\
                     percentile(col, p)、median(col)、mean(col)、min(col)、max(col)"
                ),
                format!(
                    "unknown function `{name_q}` in `{whole_q}`; functions are pNN(col), \
                     percentile(col, p), median(col), mean(col), min(col), max(col)"
                ),
            )));
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

    fn zh(self) -> &'static str {
        match self {
            Ty::Num => "数字",
            Ty::Text => "文本",
            Ty::Bool => "真/假值",
            Ty::Null => "NULL",
        }
    }
}

/// A problem found by [`type_check`], in English; [`issues`] words it in Chinese too.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ExprIssue {
    /// A column that is not in the table.
    UnknownColumn(String),
    /// A type error, described.
    Type(String),
}

/// A problem found by [`issues`]: an [`ExprIssue`] whose type error is worded in both
/// languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Issue {
    /// A column that is not in the table.
    UnknownColumn(String),
    /// A type error, described.
    Type(Note),
}

impl From<Issue> for ExprIssue {
    fn from(i: Issue) -> ExprIssue {
        match i {
            Issue::UnknownColumn(c) => ExprIssue::UnknownColumn(c),
            Issue::Type(m) => ExprIssue::Type(m.en),
        }
    }
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
        Expr::And(v) => Expr::And(v.into_iter().map(|x| coerce_dates(x, schema)).collect()),
        Expr::Or(v) => Expr::Or(v.into_iter().map(|x| coerce_dates(x, schema)).collect()),
        Expr::Not(a) => Expr::Not(Box::new(coerce_dates(*a, schema))),
        other => other,
    }
}

/// Most problems [`type_check`] lists for one condition (a 10,000-term condition with one
/// misspelt column would otherwise repeat it 10,000 times).
const MAX_ISSUES: usize = 10;

/// Finds unknown columns and type errors, in English. An empty result means [`bind`] will
/// succeed. Each problem is listed once, at most [`MAX_ISSUES`] of them.
pub fn type_check(e: &Expr, schema: &TableSchema) -> Vec<ExprIssue> {
    issues(e, schema).into_iter().map(ExprIssue::from).collect()
}

/// [`type_check`] with each type error worded in Chinese too, for a message in the run's
/// language.
pub fn issues(e: &Expr, schema: &TableSchema) -> Vec<Issue> {
    let mut issues = Vec::new();
    let t = ty(e, schema, &mut issues);
    if !matches!(t, Ty::Bool | Ty::Null) && issues.is_empty() {
        let (q, q_zh) = (quote(e), quote_in(e, Lang::Zh));
        issues.push(Issue::Type(Note::new(
            format!(
                "条件的结果必须是真或假，但 `{q_zh}` 是{}；请加上比较，例如 `{q_zh} > 0`",
                t.zh()
            ),
            format!(
                "the condition must be true or false, but `{q}` is {}; compare it, e.g. `{q} > 0`",
                t.name()
            ),
        )));
    }
    let mut seen = std::collections::HashSet::new();
    issues.retain(|i| seen.insert(ExprIssue::from(i.clone())));
    if issues.len() > MAX_ISSUES {
        let more = issues.len() - MAX_ISSUES;
        issues.truncate(MAX_ISSUES);
        issues.push(Issue::Type(Note::new(
            format!("……这个条件中还有 {more} 个问题"),
            format!("… and {more} more problems in this condition"),
        )));
    }
    issues
}

/// What needs an operand of a type, for "… needs a number": (Chinese, English).
type Needs<'a> = (&'a str, &'a str);

fn ty(e: &Expr, schema: &TableSchema, issues: &mut Vec<Issue>) -> Ty {
    let want = |x: &Expr, want: Ty, (what_zh, what): Needs<'_>, issues: &mut Vec<Issue>| {
        let t = ty(x, schema, issues);
        if t != want && t != Ty::Null {
            issues.push(Issue::Type(Note::new(
                format!(
                    "{what_zh}需要{}，但 `{}` 是{}",
                    want.zh(),
                    quote_in(x, Lang::Zh),
                    t.zh()
                ),
                format!(
                    "{what} needs {}, but `{}` is {}",
                    want.name(),
                    quote(x),
                    t.name()
                ),
            )));
        }
    };
    match e {
        Expr::Column(c) => match schema.get(c) {
            Some(col) if col.ty == ColumnType::Text => Ty::Text,
            Some(_) => Ty::Num,
            None => {
                issues.push(Issue::UnknownColumn(c.clone()));
                Ty::Null
            }
        },
        Expr::Num(_) => Ty::Num,
        Expr::Str(_) => Ty::Text,
        Expr::Bool(_) => Ty::Bool,
        Expr::Null => Ty::Null,
        Expr::Stat(s, c) => {
            match schema.get(c) {
                None => issues.push(Issue::UnknownColumn(c.clone())),
                Some(col) if !col.ty.is_numeric() => {
                    let stat = Expr::stat_text(*s, c);
                    issues.push(Issue::Type(Note::new(
                        format!("`{stat}` 需要数值列，但 `{c}` 是文本列"),
                        format!("`{stat}` needs a numeric column, but `{c}` is text"),
                    )));
                }
                Some(_) => {}
            }
            Ty::Num
        }
        Expr::Neg(x) => {
            want(x, Ty::Num, ("负号", "unary minus"), issues);
            Ty::Num
        }
        Expr::Arith(first, rest) => {
            let what = (
                format!("`{}` ", quote_in(e, Lang::Zh)),
                format!("`{}`", quote(e)),
            );
            want(first, Ty::Num, (&what.0, &what.1), issues);
            for (_, x) in rest {
                want(x, Ty::Num, (&what.0, &what.1), issues);
            }
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
        Expr::And(v) | Expr::Or(v) => {
            let op = if matches!(e, Expr::And(..)) {
                ("AND ", "AND")
            } else {
                ("OR ", "OR")
            };
            for x in v {
                want(x, Ty::Bool, op, issues);
            }
            Ty::Bool
        }
        Expr::Not(x) => {
            want(x, Ty::Bool, ("NOT ", "NOT"), issues);
            Ty::Bool
        }
        Expr::IsNull(x, _) => {
            ty(x, schema, issues);
            Ty::Bool
        }
        Expr::Like { expr, .. } => {
            want(expr, Ty::Text, ("LIKE ", "LIKE"), issues);
            Ty::Bool
        }
    }
}

/// All operands of a comparison must have one type (numbers with numbers, text with text).
fn same(whole: &Expr, parts: &[&Expr], schema: &TableSchema, issues: &mut Vec<Issue>) {
    let tys: Vec<Ty> = parts.iter().map(|p| ty(p, schema, issues)).collect();
    let mut first: Option<(Ty, &Expr)> = None;
    for (t, p) in tys.iter().zip(parts) {
        match (*t, first) {
            (Ty::Null, _) => {}
            (t, None) => first = Some((t, p)),
            (t, Some((f, fp))) if t != f => {
                let (hint_zh, hint) = if matches!(t, Ty::Text) || matches!(f, Ty::Text) {
                    (
                        "；文本要用单引号括起（'文本'），数字与数字比较（日期列与 'YYYY-MM-DD' \
                         比较）",
                        "; quote text as 'text' and compare numbers with numbers (a date column \
                         compares with 'YYYY-MM-DD')",
                    )
                } else {
                    ("", "")
                };
                let zh = |x: &Expr| quote_in(x, Lang::Zh);
                issues.push(Issue::Type(Note::new(
                    format!(
                        "`{}` 中的 `{}`（{}）不能与 `{}`（{}）比较{hint_zh}",
                        zh(whole),
                        zh(fp),
                        f.zh(),
                        zh(p),
                        t.zh()
                    ),
                    format!(
                        "cannot compare `{}` ({}) with `{}` ({}) in `{}`{hint}",
                        quote(fp),
                        f.name(),
                        quote(p),
                        t.name(),
                        quote(whole)
                    ),
                )));
                return;
            }
            _ => {}
        }
    }
    if let Some((Ty::Bool, _)) = first {
        issues.push(Issue::Type(Note::new(
            format!(
                "`{}` 在比较真/假值；请改用 AND/OR/NOT",
                quote_in(whole, Lang::Zh)
            ),
            format!(
                "`{}` compares true/false values; use AND/OR/NOT instead",
                quote(whole)
            ),
        )));
    }
}

/// Columns an expression reads (statistics included), in first-use order.
pub fn columns(e: &Expr) -> Vec<String> {
    fn walk<'e>(e: &'e Expr, seen: &mut std::collections::HashSet<&'e str>, out: &mut Vec<String>) {
        match e {
            Expr::Column(c) | Expr::Stat(_, c) => {
                if seen.insert(c) {
                    out.push(c.clone());
                }
            }
            Expr::Num(_) | Expr::Str(_) | Expr::Bool(_) | Expr::Null => {}
            Expr::Neg(x) | Expr::Not(x) | Expr::IsNull(x, _) => walk(x, seen, out),
            Expr::Like { expr, .. } => walk(expr, seen, out),
            Expr::Cmp(_, a, b) => {
                walk(a, seen, out);
                walk(b, seen, out);
            }
            Expr::Arith(first, rest) => {
                walk(first, seen, out);
                for (_, x) in rest {
                    walk(x, seen, out);
                }
            }
            Expr::And(v) | Expr::Or(v) => {
                for x in v {
                    walk(x, seen, out);
                }
            }
            Expr::Between(x, lo, hi, _) => {
                walk(x, seen, out);
                walk(lo, seen, out);
                walk(hi, seen, out);
            }
            Expr::InList(x, list, _) => {
                walk(x, seen, out);
                for i in list {
                    walk(i, seen, out);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(e, &mut std::collections::HashSet::new(), &mut out);
    out
}

/// True when the expression uses a whole-table statistic (its result depends on the data).
pub fn has_stat(e: &Expr) -> bool {
    match e {
        Expr::Stat(..) => true,
        Expr::Column(_) | Expr::Num(_) | Expr::Str(_) | Expr::Bool(_) | Expr::Null => false,
        Expr::Neg(x) | Expr::Not(x) | Expr::IsNull(x, _) => has_stat(x),
        Expr::Like { expr, .. } => has_stat(expr),
        Expr::Cmp(_, a, b) => has_stat(a) || has_stat(b),
        Expr::Arith(first, rest) => has_stat(first) || rest.iter().any(|(_, x)| has_stat(x)),
        Expr::And(v) | Expr::Or(v) => v.iter().any(has_stat),
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
    /// The columns [`Slots::load`] reads.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.cols.iter().map(|(n, _)| n.as_str())
    }

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
            let col = if name == col::CUSTOMER_ID && *text {
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
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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
    /// A left fold, like [`Expr::Arith`].
    Arith(Box<NumNode>, Vec<(ArithOp, NumNode)>),
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
    /// `AND` of two or more conditions.
    And(Vec<BoolNode>),
    /// `OR` of two or more conditions.
    Or(Vec<BoolNode>),
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
    /// `x [NOT] IN (numbers…)`: a sorted set, looked up by binary search.
    #[doc(hidden)]
    InNum(NumNodeBox, NumSet, bool),
    /// `x [NOT] IN ('text'…)`: a hash set.
    #[doc(hidden)]
    InText(TextNodeBox, TextSet, bool),
}

/// Opaque numeric sub-expression.
#[derive(Debug, Clone, PartialEq)]
pub struct NumNodeBox(Box<NumNode>);
/// Opaque text sub-expression.
#[derive(Debug, Clone, PartialEq)]
pub struct TextNodeBox(Box<TextNode>);

/// The literal numbers of an `IN` list: sorted, without NaN, `-0` as `0`; `null` when the list
/// holds NULL (so a miss is NULL, not false).
#[derive(Debug, Clone, PartialEq)]
pub struct NumSet {
    sorted: Vec<f64>,
    null: bool,
}

impl NumSet {
    fn new(values: impl IntoIterator<Item = f64>) -> NumSet {
        let mut null = false;
        let mut sorted: Vec<f64> = values
            .into_iter()
            .filter(|x| {
                null |= x.is_nan();
                !x.is_nan()
            })
            .map(|x| x + 0.0)
            .collect();
        sorted.sort_unstable_by(f64::total_cmp);
        sorted.dedup();
        NumSet { sorted, null }
    }

    #[inline]
    fn test(&self, x: f64) -> Tri {
        if x.is_nan() {
            NULL
        } else if self
            .sorted
            .binary_search_by(|p| p.total_cmp(&(x + 0.0)))
            .is_ok()
        {
            TRUE
        } else if self.null {
            NULL
        } else {
            FALSE
        }
    }
}

/// The literal texts of an `IN` list, hashed; `null` as in [`NumSet`].
#[derive(Debug, Clone, PartialEq)]
pub struct TextSet {
    set: std::collections::HashSet<String>,
    null: bool,
}

impl TextSet {
    #[inline]
    fn test(&self, x: Option<&str>) -> Tri {
        match x {
            None => NULL,
            Some(s) if self.set.contains(s) => TRUE,
            Some(_) if self.null => NULL,
            Some(_) => FALSE,
        }
    }
}

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
            Expr::Arith(first, rest) => {
                let mut acc = self.num(first);
                let mut tail = Vec::new();
                for (op, x) in rest {
                    let n = self.num(x);
                    match (&acc, &n) {
                        (NumNode::Lit(a), NumNode::Lit(b)) if tail.is_empty() => {
                            acc = NumNode::Lit(arith(*op, *a, *b));
                        }
                        _ => tail.push((*op, n)),
                    }
                }
                if tail.is_empty() {
                    acc
                } else {
                    NumNode::Arith(Box::new(acc), tail)
                }
            }
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

    /// `x [NOT] IN (list)`: literal items go into one set, anything else is compared one by one.
    fn in_list(&mut self, x: &Expr, list: &[&Expr], neg: bool) -> BoolNode {
        if self.is_bool(x) {
            return BoolNode::Lit(NULL);
        }
        let mut rest: Vec<BoolNode> = Vec::new();
        let set = if self.is_text(x) || list.iter().any(|i| self.is_text(i)) {
            let mut set = TextSet {
                set: std::collections::HashSet::new(),
                null: false,
            };
            for item in list {
                match item {
                    Expr::Str(s) => {
                        set.set.insert(s.clone());
                    }
                    Expr::Null | Expr::Num(_) | Expr::Stat(..) => set.null = true,
                    other => rest.push(self.cmp(CmpOp::Eq, x, other)),
                }
            }
            BoolNode::InText(TextNodeBox(Box::new(self.text(x))), set, false)
        } else {
            let mut lits = Vec::new();
            for item in list {
                match item {
                    Expr::Num(_) | Expr::Stat(..) | Expr::Null => lits.push(match self.num(item) {
                        NumNode::Lit(v) => v,
                        _ => f64::NAN,
                    }),
                    other => rest.push(self.cmp(CmpOp::Eq, x, other)),
                }
            }
            BoolNode::InNum(NumNodeBox(Box::new(self.num(x))), NumSet::new(lits), false)
        };
        rest.push(set);
        let n = or_all(rest);
        if neg { not_node(n) } else { n }
    }

    /// `OR`: equalities of one column with literals (`id = 'a' OR id = 'b' OR …`) and its
    /// `IN` lists become one set lookup; the rest is evaluated term by term.
    fn or(&mut self, items: &[Expr]) -> BoolNode {
        let mut groups: Vec<(&Expr, Vec<&Expr>)> = Vec::new();
        let mut index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        let mut others: Vec<&Expr> = Vec::new();
        for item in items {
            let (col, lits): (&Expr, Vec<&Expr>) = match item {
                Expr::Cmp(CmpOp::Eq, a, b) if is_lit(b) && matches!(**a, Expr::Column(_)) => {
                    (a, vec![b])
                }
                Expr::Cmp(CmpOp::Eq, a, b) if is_lit(a) && matches!(**b, Expr::Column(_)) => {
                    (b, vec![a])
                }
                Expr::InList(x, list, false)
                    if matches!(**x, Expr::Column(_)) && list.iter().all(is_lit) =>
                {
                    (x, list.iter().collect())
                }
                other => {
                    others.push(other);
                    continue;
                }
            };
            let Expr::Column(name) = col else { continue };
            match index.get(name.as_str()) {
                Some(&k) => groups[k].1.extend(lits),
                None => {
                    index.insert(name, groups.len());
                    groups.push((col, lits));
                }
            }
        }
        let mut nodes: Vec<BoolNode> = Vec::new();
        for (col, lits) in groups {
            if lits.len() == 1 {
                nodes.push(self.cmp(CmpOp::Eq, col, lits[0]));
            } else {
                nodes.push(self.in_list(col, &lits, false));
            }
        }
        for e in others {
            nodes.push(self.boolean(e));
        }
        or_all(nodes)
    }

    fn boolean(&mut self, e: &Expr) -> BoolNode {
        match e {
            Expr::Bool(b) => BoolNode::Lit(Tri::from(*b)),
            Expr::Null => BoolNode::Lit(NULL),
            Expr::Cmp(op, a, b) => self.cmp(*op, a, b),
            Expr::And(v) => {
                let nodes = v.iter().map(|x| self.boolean(x)).collect();
                and_all(nodes)
            }
            Expr::Or(v) => self.or(v),
            Expr::Not(a) => not_node(self.boolean(a)),
            Expr::Between(x, lo, hi, neg) => {
                let n = and_all(vec![self.cmp(CmpOp::Ge, x, lo), self.cmp(CmpOp::Le, x, hi)]);
                if *neg { not_node(n) } else { n }
            }
            Expr::InList(x, list, neg) => {
                let items: Vec<&Expr> = list.iter().collect();
                self.in_list(x, &items, *neg)
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

/// A number or text literal (what an `IN` set can hold).
fn is_lit(e: &Expr) -> bool {
    matches!(e, Expr::Num(_) | Expr::Str(_))
}

/// AND of several conditions: constants folded, nested ANDs flattened.
fn and_all(items: Vec<BoolNode>) -> BoolNode {
    all_of(items, true)
}

/// OR of several conditions: constants folded, nested ORs flattened.
fn or_all(items: Vec<BoolNode>) -> BoolNode {
    all_of(items, false)
}

/// AND (`and`) or OR of several conditions, in three-valued logic: constants are folded into
/// one (the absorbing one decides at once), nested nodes of the same kind are flattened.
fn all_of(items: Vec<BoolNode>, and: bool) -> BoolNode {
    let (unit, absorbing) = if and { (TRUE, FALSE) } else { (FALSE, TRUE) };
    let mut out = Vec::with_capacity(items.len());
    let mut lit = unit;
    for n in items {
        match (n, and) {
            (BoolNode::Lit(x), true) => lit = and3(lit, x),
            (BoolNode::Lit(x), false) => lit = or3(lit, x),
            (BoolNode::And(v), true) | (BoolNode::Or(v), false) => out.extend(v),
            (n, _) => out.push(n),
        }
    }
    if lit == absorbing || out.is_empty() {
        return BoolNode::Lit(lit);
    }
    if lit == NULL {
        out.push(BoolNode::Lit(NULL));
    }
    match (out.len(), and) {
        (1, _) => out.pop().unwrap_or(BoolNode::Lit(NULL)),
        (_, true) => BoolNode::And(out),
        (_, false) => BoolNode::Or(out),
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
        NumNode::Arith(first, rest) => {
            let mut acc = eval_num(first, f);
            for (op, x) in rest {
                let b = eval_num(x, f);
                acc = match op {
                    ArithOp::Add => num_zip(acc, b, |x, y| x + y),
                    ArithOp::Sub => num_zip(acc, b, |x, y| x - y),
                    ArithOp::Mul => num_zip(acc, b, |x, y| x * y),
                    ArithOp::Div => num_zip(acc, b, |x, y| if y == 0.0 { f64::NAN } else { x / y }),
                };
            }
            acc
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
        BoolNode::And(items) => {
            let mut acc = BoolV::Scalar(TRUE);
            for x in items {
                if matches!(acc, BoolV::Scalar(FALSE)) {
                    break;
                }
                acc = tri_zip(acc, eval_bool(x, f), and3);
            }
            acc
        }
        BoolNode::Or(items) => {
            let mut acc = BoolV::Scalar(FALSE);
            for x in items {
                if matches!(acc, BoolV::Scalar(TRUE)) {
                    break;
                }
                acc = tri_zip(acc, eval_bool(x, f), or3);
            }
            acc
        }
        BoolNode::InNum(x, set, neg) => {
            let neg = *neg;
            let t = |v: f64| {
                let r = set.test(v);
                if neg { not3(r) } else { r }
            };
            match eval_num(&x.0, f) {
                NumV::Scalar(v) => BoolV::Scalar(t(v)),
                v => BoolV::Vec(
                    v.slice()
                        .unwrap_or_default()
                        .iter()
                        .map(|&v| t(v))
                        .collect(),
                ),
            }
        }
        BoolNode::InText(x, set, neg) => {
            let neg = *neg;
            let t = |s: Option<&str>| {
                let r = set.test(s);
                if neg { not3(r) } else { r }
            };
            match eval_text(&x.0, f) {
                TextV::Scalar(s) => BoolV::Scalar(t(s)),
                TextV::Ids(ids) => BoolV::Vec(ids.iter().map(|s| t(Some(s))).collect()),
                TextV::Slice(texts) => {
                    // Once per distinct value, then by code.
                    let by_label: Vec<Tri> =
                        texts.labels().iter().map(|s| t(Some(s.as_str()))).collect();
                    let missing = t(None);
                    BoolV::Vec(
                        (0..texts.len())
                            .map(|i| {
                                texts
                                    .code(i)
                                    .and_then(|c| by_label.get(c as usize).copied())
                                    .unwrap_or(missing)
                            })
                            .collect(),
                    )
                }
            }
        }
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
        let e = parse("orders >").unwrap_err().to_string();
        assert!(e.contains("Expected"), "{e}");
        let e = parse("orders > 5 monetary").unwrap_err().to_string();
        assert_eq!(e, "unexpected `monetary` after the end of the expression");
        let e = parse("t.orders > 5").unwrap_err().to_string();
        assert!(e.contains("use the bare column name `orders`"), "{e}");
        let e = parse("foo(orders) > 1").unwrap_err().to_string();
        assert!(e.starts_with("unknown function `foo`"), "{e}");
        assert!(parse("orders > (SELECT 1)").is_err());
    }

    #[test]
    fn parse_and_type_errors_are_said_in_chinese_too() {
        let zh = |src: &str| parse(src).unwrap_err().zh();
        assert_eq!(zh("orders > 5 monetary"), "表达式结束后多出了 `monetary`");
        assert_eq!(
            zh("t.orders > 5"),
            "不支持带前缀的名称 `t.orders`：请直接写列名 `orders`"
        );
        assert!(
            zh("foo(orders) > 1").starts_with("`foo(orders)` 中的函数 `foo` 未知；"),
            "{}",
            zh("foo(orders) > 1")
        );
        assert_eq!(zh("(orders > 1"), "第 1 列的 `(` 没有闭合");
        assert_eq!(zh("orders > 1)"), "第 11 列的 `)` 前面没有与之配对的 `(`");
        assert_eq!(zh("orders > 1 AND"), "第 12 列的 `AND` 后面缺少条件");
        assert_eq!(
            zh("p200(orders) > 1"),
            "`p200(orders)`：百分位应在 p0 到 p100 之间"
        );
        assert_eq!(zh(" "), "条件为空");
        let e = parse("(orders > 1").unwrap_err();
        assert_eq!(e.fix_zh(), "每个 `(` 都要有对应的 `)`");
        // the English is as it was
        assert_eq!(e.to_string(), "`(` at column 1 is never closed");
        // sqlparser words its message in English only: quoted, introduced in Chinese
        let e = zh("orders >");
        assert!(
            e.starts_with("条件的写法有误（SQL 解析器：") && e.contains("Expected"),
            "{e}"
        );
        // a long condition quoted clipped, its length said in Chinese
        let long = format!("{} + 1", vec!["orders"; 40].join(" + "));
        let issue = issues(&parse(&long).unwrap(), &TableSchema::of(&table()));
        let [Issue::Type(m)] = issue.as_slice() else {
            panic!("{issue:?}")
        };
        assert!(m.zh.starts_with("条件的结果必须是真或假，但 `"), "{}", m.zh);
        assert!(
            m.zh.contains("…（共 ") && !m.zh.contains("characters"),
            "{}",
            m.zh
        );
        assert!(m.en.contains(" characters)"), "{}", m.en);
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
