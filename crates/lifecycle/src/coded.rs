//! The grades of a [`Snapshot`](crate::Snapshot) as written to its file: each scheme's
//! distinct grades once (`labels`) and one small number per customer (`codes`), as they are
//! held in memory ([`Texts`]). Written as names, a snapshot of 3.36M customers was 649 MB of
//! JSON and most of a run's writing time. Snapshots written before hold the names
//! themselves; both read.

use std::collections::BTreeMap;
use std::fmt;

use clientele_core::Texts;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One scheme's grades, coded. A missing grade (a snapshot holds none) is written as the
/// empty grade. Public for a writer that streams a snapshot's schemes one at a time.
#[derive(Debug)]
pub struct Coded<'a>(pub &'a Texts);

impl Serialize for Coded<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = self.0.filled("");
        let codes: Vec<u32> = (0..t.len()).map(|i| t.code(i).unwrap_or(0)).collect();
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("labels", t.labels())?;
        m.serialize_entry("codes", &codes)?;
        m.end()
    }
}

pub(crate) fn serialize<S: Serializer>(
    schemes: &BTreeMap<String, Texts>,
    s: S,
) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(schemes.len()))?;
    for (name, grades) in schemes {
        map.serialize_entry(name, &Coded(grades))?;
    }
    map.end()
}

pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, Texts>, D::Error> {
    let coded: BTreeMap<String, Grades> = BTreeMap::deserialize(d)?;
    Ok(coded.into_iter().map(|(k, v)| (k, v.0)).collect())
}

/// A scheme's grades, read from either form.
struct Grades(Texts);

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
            out.push(Some(g));
        }
        Ok(Grades(Texts::from(out)))
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
        let n = labels.len();
        if let Some(c) = codes.iter().find(|&&c| c as usize >= n) {
            return Err(de::Error::custom(format!(
                "grade code {c} but only {n} labels"
            )));
        }
        Texts::from_codes(labels, codes.into_iter().map(Some))
            .map(Grades)
            .ok_or_else(|| de::Error::custom("too many grade labels"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct S {
        #[serde(with = "super")]
        schemes: BTreeMap<String, Texts>,
    }

    #[test]
    fn grades_round_trip_coded_and_old_files_still_read() {
        let s = S {
            schemes: BTreeMap::from([
                (
                    "rfm".to_string(),
                    Texts::from(vec![Some("VIP"), Some("新客户"), Some("VIP"), Some("")]),
                ),
                ("empty".to_string(), Texts::default()),
            ]),
        };
        let text = serde_json::to_string(&s).unwrap();
        assert!(
            text.contains(r#""labels":["VIP","新客户",""],"codes":[0,1,0,2]"#),
            "{text}"
        );
        assert_eq!(serde_json::from_str::<S>(&text).unwrap(), s);
        let old = r#"{"schemes":{"rfm":["VIP","新客户","VIP",""],"empty":[]}}"#;
        assert_eq!(serde_json::from_str::<S>(old).unwrap(), s);
        let bad = r#"{"schemes":{"rfm":{"labels":["VIP"],"codes":[0,3]}}}"#;
        let e = serde_json::from_str::<S>(bad).unwrap_err().to_string();
        assert!(e.contains("grade code 3 but only 1 labels"), "{e}");
    }
}
