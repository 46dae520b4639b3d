//! Columns the data seems to have under another name: a Chinese export calls the category
//! `商品类别` and the amount `实付金额`, not `category` and `amount`. Nothing is mapped by
//! guess (a wrong guess would grade customers on the wrong numbers); the names are only
//! suggested, with the flag that maps them, when a field is missing.
//!
//! A header name is a candidate for a field when, with case, spaces, `_`, `-` and `.` ignored,
//! it is one of the field's usual names (best), or holds one of its telling words (`类别` in
//! `商品类别名称`). Columns already mapped to a field are never suggested for another.

use serde::{Deserialize, Serialize};

use crate::options::{ColumnMapping, OptionalColumn};

/// An optional field the data seems to have under another name, and how to map it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnHint {
    /// The field, as its `[columns]` key (`category`, `profit`, …).
    pub field: String,
    /// The column name looked for (`category`).
    pub looked_for: String,
    /// The flag that maps it, without the dashes (`category-col`).
    pub flag: String,
    /// Header names that look like the field, best first.
    pub candidates: Vec<String>,
}

impl ColumnHint {
    /// The fix, for the first candidate: `--category-col 商品类别` (quoted for a shell when
    /// needed).
    pub fn flag_fix(&self) -> String {
        flag_fix(&self.flag, &self.candidates[0])
    }

    /// The hint in `lang` (English as [`Display`](std::fmt::Display) writes it).
    pub fn text(&self, lang: clientele_core::Lang) -> String {
        match lang {
            clientele_core::Lang::En => self.to_string(),
            clientele_core::Lang::Zh => {
                let names: Vec<String> = self.candidates.iter().map(|c| format!("`{c}`")).collect();
                format!(
                    "{} 看起来是 {} 列（没有 `{}` 列）：加上 {}（或在 [columns] 中写 `{}`）",
                    names.join(" 或 "),
                    self.field,
                    self.looked_for,
                    self.flag_fix(),
                    self.config_fix()
                )
            }
        }
    }

    /// The fix as a config line: `category = "商品类别"` in `[columns]`.
    pub fn config_fix(&self) -> String {
        format!("{} = {:?}", self.field, self.candidates[0])
    }
}

impl std::fmt::Display for ColumnHint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self.candidates.iter().map(|c| format!("`{c}`")).collect();
        let verb = if names.len() == 1 { "looks" } else { "look" };
        write!(
            f,
            "{} {verb} like the {} column (there is no `{}`): pass {} (or `{}` in [columns])",
            names.join(" or "),
            self.field.replace('_', " "),
            self.looked_for,
            self.flag_fix(),
            self.config_fix()
        )
    }
}

/// `--flag value`, the value quoted for a shell when it holds anything but letters, digits
/// and `_-.`.
pub(crate) fn flag_fix(flag: &str, value: &str) -> String {
    format!("--{flag} {}", clientele_core::shell_word(value))
}

/// Usual names (exact, normalized) and telling words (contained) of each field, separated by
/// spaces.
struct Names {
    exact: &'static str,
    words: &'static str,
}

fn names(field: &str) -> Names {
    match field {
        "customer_id" => Names {
            exact: "customerid customer customerno customercode \
                    customernumber custid clientid client userid user \
                    memberid member memberno buyerid buyer accountid 客户编号 \
                    客户id 客户代码 客户号 客户编码 客户 顾客编号 顾客id 顾客 会员编号 会员id 会员号 会员卡号 会员 \
                    用户id 用户编号 用户 买家id 买家 买家昵称",
            words: "客户编号 客户id 顾客编号 顾客id 会员编号 会员卡号 用户id customerid clientid \
                    memberid userid",
        },
        "order_date" => Names {
            exact: "orderdate date day purchasedate transactiondate txndate \
                    invoicedate saledate salesdate ordertime orderdatetime \
                    createdat 日期 下单日期 订单日期 下单时间 订单时间 购买日期 购买时间 交易日期 交易时间 付款时间 \
                    付款日期 支付时间 成交时间 成交日期 销售日期",
            words: "日期 date",
        },
        "amount" => Names {
            exact: "amount amt sales sale revenue total totalamount \
                    orderamount ordertotal payment paid paidamount \
                    salesamount saleamount dollarvalue 金额 实付金额 实收金额 支付金额 付款金额 \
                    订单金额 销售金额 销售额 消费金额 成交金额 交易金额 总金额 总价 应付金额 实付 营业额",
            words: "金额 销售额 amount",
        },
        "order_id" => Names {
            exact: "orderid orderno ordernumber order invoice invoiceno \
                    invoiceid transactionid txnid receiptno 订单号 订单编号 订单id 单号 \
                    交易号 交易单号 流水号 小票号",
            words: "订单号 订单编号 单号 orderid orderno",
        },
        "category" => Names {
            exact: "category categories productcategory categoryname \
                    itemcategory producttype productline department 商品类别 商品类目 \
                    商品分类 商品品类 产品类别 产品分类 产品类目 品类 类别 类目 分类 大类 品类名称 类别名称",
            words: "类别 类目 品类 分类 category",
        },
        "profit" => Names {
            exact: "profit grossprofit margin grossmargin profitamount 利润 毛利 \
                    毛利润 毛利额 利润额",
            words: "利润 毛利 profit",
        },
        "cost" => Names {
            exact: "cost costs cogs unitcost costprice purchaseprice 成本 成本价 \
                    进价 采购价 成本金额",
            words: "成本 cost",
        },
        "quantity" => Names {
            exact: "quantity qty quantities units count items itemcount \
                    pieces pcs numberofcds 数量 件数 购买数量 商品数量 销量 销售数量 个数",
            words: "数量 件数 qty quantity",
        },
        "satisfaction" => Names {
            exact: "score satisfaction satisfactionscore rating nps csat 满意度 \
                    满意度评分 评分 分数 打分 星级 评价",
            words: "满意 评分 score rating",
        },
        _ => Names {
            exact: "",
            words: "",
        },
    }
}

fn normalize(s: &str) -> String {
    s.trim()
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '_' | '-' | '.'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Header names (not in `taken`, by position) that look like `field`, best first.
pub(crate) fn candidates(field: &str, header: &[String], taken: &[usize]) -> Vec<String> {
    let n = names(field);
    let mut scored: Vec<(u8, usize)> = header
        .iter()
        .enumerate()
        .filter(|(i, _)| !taken.contains(i))
        .filter_map(|(i, h)| {
            let h = normalize(h);
            if h.is_empty() {
                None
            } else if n.exact.split_whitespace().any(|e| e == h) {
                Some((0, i))
            } else if n.words.split_whitespace().any(|w| h.contains(w)) {
                Some((1, i))
            } else {
                None
            }
        })
        .collect();
    scored.sort();
    scored.into_iter().map(|(_, i)| header[i].clone()).collect()
}

/// Hints for the optional fields of `mapping` that the header lacks under their default name
/// (a name the user gave is an error when missing, not a hint); `taken` are the positions
/// of the columns already mapped.
pub(crate) fn optional_hints(
    header: &[String],
    mapping: &ColumnMapping,
    taken: &[usize],
    missing: impl Fn(&OptionalColumn) -> bool,
) -> Vec<ColumnHint> {
    let fields: [(&OptionalColumn, &str, &str); 5] = [
        (&mapping.order_id, "order_id", "order-id-col"),
        (&mapping.category, "category", "category-col"),
        (&mapping.profit, "profit", "profit-col"),
        (&mapping.cost, "cost", "cost-col"),
        (&mapping.quantity, "quantity", "quantity-col"),
    ];
    let mut used: Vec<usize> = taken.to_vec();
    let mut out = Vec::new();
    for (c, field, flag) in fields {
        if c.required || c.name.is_empty() || !missing(c) {
            continue;
        }
        let found = candidates(field, header, &used);
        if found.is_empty() {
            continue;
        }
        // one column is suggested for one field only
        used.extend(header.iter().position(|h| *h == found[0]));
        out.push(ColumnHint {
            field: field.to_string(),
            looked_for: c.name.clone(),
            flag: flag.to_string(),
            candidates: found,
        });
    }
    // profit comes from a profit column or from amount − cost: no hint for one when the other
    // is there
    let have = |f: &OptionalColumn| !f.name.is_empty() && !missing(f);
    out.retain(|h| match h.field.as_str() {
        "profit" => !have(&mapping.cost),
        "cost" => !have(&mapping.profit),
        _ => true,
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_chinese_category_column_is_suggested_with_its_flag() {
        let h = header(&["客户编号", "下单日期", "金额", "商品类别", "数量"]);
        let m = ColumnMapping::default();
        let hints = optional_hints(&h, &m, &[0, 1, 2], |c| !h.contains(&c.name));
        let fixes: Vec<String> = hints.iter().map(ColumnHint::flag_fix).collect();
        assert_eq!(fixes, ["--category-col 商品类别", "--quantity-col 数量"]);
        assert_eq!(hints[0].config_fix(), "category = \"商品类别\"");
        assert_eq!(
            hints[0].to_string(),
            "`商品类别` looks like the category column (there is no `category`): pass \
             --category-col 商品类别 (or `category = \"商品类别\"` in [columns])"
        );
    }

    #[test]
    fn usual_names_rank_before_names_that_hold_a_telling_word() {
        let h = header(&["商品类别名称", "类别", "amount"]);
        assert_eq!(candidates("category", &h, &[]), ["类别", "商品类别名称"]);
        assert!(candidates("category", &h, &[1, 0]).is_empty());
        assert_eq!(
            candidates("order_date", &header(&["Order Date"]), &[]),
            ["Order Date"]
        );
    }

    #[test]
    fn a_value_with_spaces_is_quoted_for_the_shell() {
        assert_eq!(
            flag_fix("category-col", "Product Type"),
            "--category-col 'Product Type'"
        );
        assert_eq!(flag_fix("date-col", "it's"), r"--date-col 'it'\''s'");
    }

    #[test]
    fn no_hint_for_a_field_the_data_has_or_the_user_named() {
        let h = header(&["customer_id", "order_date", "amount", "category", "品类"]);
        let m = ColumnMapping::default();
        let hints = optional_hints(&h, &m, &[0, 1, 2, 3], |c| !h.contains(&c.name));
        assert!(hints.is_empty(), "{hints:?}");
    }
}
