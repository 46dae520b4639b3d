//! The grades of a [`Snapshot`](crate::Snapshot) as written to its file: each scheme's
//! distinct grades once (`labels`) and one small number per customer (`codes`). Written as
//! names, a snapshot of 3.36M customers was 649 MB of JSON and most of a run's writing time.
//! Snapshots written before hold the names themselves; both read.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One scheme's grades, coded.
#[derive(Serialize)]
struct Coded<'a> {
    labels: Vec<&'a str>,
    codes: Vec<u32>,
}

impl<'a> Coded<'a> {
    fn of(grades: &'a [String]) -> Coded<'a> {
        let mut index: std::collections::HashMap<&str, u32> = std::collections::HashMap::new();
        let mut labels = Vec::new();
        let codes = grades
            .iter()
            .map(|g| {
                *index.entry(g.as_str()).or_insert_with(|| {
                    labels.push(g.as_str());
                    (labels.len() - 1) as u32
                })
            })
            .collect();
        Coded { labels, codes }
    }
}

pub(crate) fn serialize<S: Serializer>(
    schemes: &BTreeMap<String, Vec<String>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(schemes.len()))?;
    for (name, grades) in schemes {
        map.serialize_entry(name, &Coded::of(grades))?;
    }
    map.end()
}

pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, Vec<String>>, D::Error> {
    let coded: BTreeMap<String, Grades> = BTreeMap::deserialize(d)?;
    Ok(coded.into_iter().map(|(k, v)| (k, v.0)).collect())
}

/// A scheme's grades, read from either form.
struct Grades(Vec<String>);

impl<'de> Deserialize<'de> for Grades {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Grades, D::Error> {
        d.deserialize_any(GradesVisitor)
    }
}

struct GradesVisitor;

impl<'de> Visitor<'de> for GradesVisitor {
    type Value = Grades;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of grades or {\"labels\": [...], \"codes\": [...]}")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Grades, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(g) = seq.next_element::<String>()? {
            out.push(g);
        }
        Ok(Grades(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Grades, A::Error> {
        let (mut labels, mut codes): (Option<Vec<String>>, Option<Vec<u32>>) = (None, None);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "labels" => labels = Some(map.next_value()?),
                "codes" => codes = Some(map.next_value()?),
                _ => {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
        }
        let labels = labels.ok_or_else(|| de::Error::missing_field("labels"))?;
        let codes = codes.ok_or_else(|| de::Error::missing_field("codes"))?;
        codes
            .into_iter()
            .map(|c| {
                labels.get(c as usize).cloned().ok_or_else(|| {
                    de::Error::custom(format!(
                        "grade code {c} but only {} labels",
                        labels.len()
                    ))
                })
            })
            .collect::<Result<Vec<String>, A::Error>>()
            .map(Grades)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct S {
        #[serde(with = "super")]
        schemes: BTreeMap<String, Vec<String>>,
    }

    #[test]
    fn grades_round_trip_coded_and_old_files_still_read() {
        let s = S {
            schemes: BTreeMap::from([
                (
                    "rfm".to_string(),
                    ["VIP", "新客户", "VIP", ""].map(String::from).to_vec(),
                ),
                ("empty".to_string(), Vec::new()),
            ]),
        };
        let text = serde_json::to_string(&s).unwrap();
        assert!(text.contains(r#""labels":["VIP","新客户",""],"codes":[0,1,0,2]"#), "{text}");
        assert_eq!(serde_json::from_str::<S>(&text).unwrap(), s);
        let old = r#"{"schemes":{"rfm":["VIP","新客户","VIP",""],"empty":[]}}"#;
        assert_eq!(serde_json::from_str::<S>(old).unwrap(), s);
        let bad = r#"{"schemes":{"rfm":{"labels":["VIP"],"codes":[0,3]}}}"#;
        let e = serde_json::from_str::<S>(bad).unwrap_err().to_string();
        assert!(e.contains("grade code 3 but only 1 labels"), "{e}");
    }
}
