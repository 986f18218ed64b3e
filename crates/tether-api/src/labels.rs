//! Label selectors: the `labelSelector` query grammar and `metav1.LabelSelector`
//! (`apimachinery/pkg/labels/selector.go`).

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

/// A selector operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// `k=v`, `k==v`.
    Equals,
    /// `k!=v`.
    NotEquals,
    /// `k in (a,b)`.
    In,
    /// `k notin (a,b)`.
    NotIn,
    /// `k`.
    Exists,
    /// `!k`.
    DoesNotExist,
    /// `k>N`.
    GreaterThan,
    /// `k<N`.
    LessThan,
}

/// One requirement of a selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// Label key.
    pub key: String,
    /// Operator.
    pub op: Operator,
    /// Values, sorted.
    pub values: Vec<String>,
}

impl Requirement {
    /// Whether a label set satisfies this requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let v = labels.get(&self.key);
        match self.op {
            Operator::Equals | Operator::In => v.is_some_and(|v| self.values.contains(v)),
            Operator::NotEquals | Operator::NotIn => v.is_none_or(|v| !self.values.contains(v)),
            Operator::Exists => v.is_some(),
            Operator::DoesNotExist => v.is_none(),
            Operator::GreaterThan | Operator::LessThan => {
                let (Some(v), Some(want)) = (v, self.values.first()) else {
                    return false;
                };
                let (Ok(v), Ok(want)) = (v.parse::<i64>(), want.parse::<i64>()) else {
                    return false;
                };
                if self.op == Operator::GreaterThan {
                    v > want
                } else {
                    v < want
                }
            }
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.op {
            Operator::Equals => write!(f, "{}={}", self.key, self.values.join(",")),
            Operator::NotEquals => write!(f, "{}!={}", self.key, self.values.join(",")),
            Operator::In => write!(f, "{} in ({})", self.key, self.values.join(",")),
            Operator::NotIn => write!(f, "{} notin ({})", self.key, self.values.join(",")),
            Operator::Exists => write!(f, "{}", self.key),
            Operator::DoesNotExist => write!(f, "!{}", self.key),
            Operator::GreaterThan => write!(f, "{}>{}", self.key, self.values.join(",")),
            Operator::LessThan => write!(f, "{}<{}", self.key, self.values.join(",")),
        }
    }
}

/// A conjunction of requirements. The empty selector matches everything; [`Selector::nothing`]
/// matches nothing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Selector {
    reqs: Vec<Requirement>,
    nothing: bool,
}

/// A selector that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unable to parse requirement: {0}")]
pub struct ParseError(pub String);

impl Selector {
    /// Matches every label set.
    pub fn everything() -> Self {
        Self::default()
    }
    /// Matches no label set.
    pub fn nothing() -> Self {
        Self {
            reqs: Vec::new(),
            nothing: true,
        }
    }
    /// The requirements.
    pub fn requirements(&self) -> &[Requirement] {
        &self.reqs
    }
    /// Whether this selects everything.
    pub fn is_everything(&self) -> bool {
        !self.nothing && self.reqs.is_empty()
    }

    /// Whether a label set satisfies every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        !self.nothing && self.reqs.iter().all(|r| r.matches(labels))
    }

    /// A Service-style selector: every key=value must be present (empty map selects nothing;
    /// callers treat an empty Service selector as "no controller-managed endpoints").
    pub fn from_map(m: &BTreeMap<String, String>) -> Self {
        let mut reqs: Vec<Requirement> = m
            .iter()
            .map(|(k, v)| Requirement {
                key: k.clone(),
                op: Operator::Equals,
                values: vec![v.clone()],
            })
            .collect();
        reqs.sort_by(|a, b| a.key.cmp(&b.key));
        Self {
            reqs,
            nothing: false,
        }
    }

    /// `metav1.LabelSelectorAsSelector`: `None` selects nothing, an empty selector everything.
    pub fn from_label_selector(ls: Option<&LabelSelector>) -> Result<Self, ParseError> {
        let Some(ls) = ls else {
            return Ok(Self::nothing());
        };
        let mut reqs = Vec::new();
        if let Some(m) = &ls.match_labels {
            for (k, v) in m {
                reqs.push(Requirement {
                    key: k.clone(),
                    op: Operator::Equals,
                    values: vec![v.clone()],
                });
            }
        }
        for e in ls.match_expressions.iter().flatten() {
            let op = match e.operator.as_str() {
                "In" => Operator::In,
                "NotIn" => Operator::NotIn,
                "Exists" => Operator::Exists,
                "DoesNotExist" => Operator::DoesNotExist,
                other => {
                    return Err(ParseError(format!(
                        "{other:?} is not a valid label selector operator"
                    )));
                }
            };
            let mut values = e.values.clone().unwrap_or_default();
            values.sort();
            values.dedup();
            reqs.push(Requirement {
                key: e.key.clone(),
                op,
                values,
            });
        }
        reqs.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(Self {
            reqs,
            nothing: false,
        })
    }

    /// Parses the `labelSelector` query grammar.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let mut p = Parser {
            s: s.as_bytes(),
            i: 0,
        };
        let mut reqs = Vec::new();
        p.ws();
        if p.eof() {
            return Ok(Self::everything());
        }
        loop {
            reqs.push(p.requirement()?);
            p.ws();
            if p.eof() {
                break;
            }
            if !p.eat(b',') {
                return Err(ParseError(format!(
                    "found '{}', expected: ',' or 'end of string'",
                    p.rest()
                )));
            }
        }
        reqs.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(Self {
            reqs,
            nothing: false,
        })
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.reqs.iter().map(ToString::to_string).collect();
        f.write_str(&parts.join(","))
    }
}

/// `metav1.FormatLabelSelector`: the selector string, `<none>` when empty, `<error>` if bad.
pub fn format_label_selector(ls: Option<&LabelSelector>) -> String {
    match Selector::from_label_selector(ls) {
        Ok(s) => {
            let t = s.to_string();
            if t.is_empty() { "<none>".to_owned() } else { t }
        }
        Err(_) => "<error>".to_owned(),
    }
}

/// `labels.FormatLabels`: `k=v` sorted by key, joined `,`; `<none>` when empty.
pub fn format_labels(m: Option<&BTreeMap<String, String>>) -> String {
    match m {
        Some(m) if !m.is_empty() => m
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(","),
        _ => "<none>".to_owned(),
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn eof(&self) -> bool {
        self.i >= self.s.len()
    }
    fn rest(&self) -> String {
        String::from_utf8_lossy(&self.s[self.i.min(self.s.len())..]).into_owned()
    }
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn starts_with(&self, t: &str) -> bool {
        self.s[self.i..].starts_with(t.as_bytes())
    }
    fn ident(&mut self) -> String {
        let start = self.i;
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'/') {
                self.i += 1;
            } else {
                break;
            }
        }
        String::from_utf8_lossy(&self.s[start..self.i]).into_owned()
    }
    fn key(&mut self) -> Result<String, ParseError> {
        self.ws();
        let k = self.ident();
        if k.is_empty() {
            return Err(ParseError(format!(
                "found '{}', expected: identifier",
                self.rest()
            )));
        }
        let errs = crate::names::qualified_name(&k);
        if let Some(e) = errs.first() {
            return Err(ParseError(format!("invalid label key {k:?}: {e}")));
        }
        Ok(k)
    }
    fn value(&mut self) -> Result<String, ParseError> {
        self.ws();
        let v = self.ident();
        if let Some(e) = crate::names::label_value(&v).first() {
            return Err(ParseError(format!("invalid label value: {v:?}: {e}")));
        }
        Ok(v)
    }
    fn set(&mut self) -> Result<Vec<String>, ParseError> {
        self.ws();
        if !self.eat(b'(') {
            return Err(ParseError(format!(
                "found '{}', expected: '('",
                self.rest()
            )));
        }
        let mut vals = Vec::new();
        loop {
            self.ws();
            if self.eat(b')') {
                break;
            }
            vals.push(self.value()?);
            self.ws();
            if self.eat(b',') {
                continue;
            }
            if self.eat(b')') {
                break;
            }
            return Err(ParseError(format!(
                "found '{}', expected: ',' or ')'",
                self.rest()
            )));
        }
        vals.sort();
        vals.dedup();
        Ok(vals)
    }
    fn requirement(&mut self) -> Result<Requirement, ParseError> {
        self.ws();
        if self.eat(b'!') {
            let key = self.key()?;
            return Ok(Requirement {
                key,
                op: Operator::DoesNotExist,
                values: Vec::new(),
            });
        }
        let key = self.key()?;
        self.ws();
        let op = if self.eof() || self.peek() == Some(b',') {
            return Ok(Requirement {
                key,
                op: Operator::Exists,
                values: Vec::new(),
            });
        } else if self.starts_with("==") {
            self.i += 2;
            Operator::Equals
        } else if self.starts_with("!=") {
            self.i += 2;
            Operator::NotEquals
        } else if self.eat(b'=') {
            Operator::Equals
        } else if self.eat(b'>') {
            Operator::GreaterThan
        } else if self.eat(b'<') {
            Operator::LessThan
        } else if self.starts_with("notin") {
            self.i += 5;
            Operator::NotIn
        } else if self.starts_with("in") {
            self.i += 2;
            Operator::In
        } else {
            return Err(ParseError(format!(
                "found '{}', expected: in, notin, =, ==, !=, gt, lt",
                self.rest()
            )));
        };
        let values = match op {
            Operator::In | Operator::NotIn => self.set()?,
            _ => vec![self.value()?],
        };
        if matches!(op, Operator::GreaterThan | Operator::LessThan)
            && values.first().is_none_or(|v| v.parse::<i64>().is_err())
        {
            return Err(ParseError(format!(
                "for 'Gt', 'Lt' operators, the value must be an integer: {values:?}"
            )));
        }
        Ok(Requirement { key, op, values })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn grammar() {
        let l = labels(&[("app", "web"), ("tier", "fe"), ("n", "5")]);
        for (s, want) in [
            ("app=web", true),
            ("app==web", true),
            ("app!=web", false),
            ("app in (web, db)", true),
            ("app notin (web)", false),
            ("missing!=x", true),
            ("missing notin (x)", true),
            ("app", true),
            ("!app", false),
            ("!missing", true),
            ("n>4", true),
            ("n<4", false),
            ("app=web,tier=fe", true),
            ("app=web,tier=be", false),
            ("", true),
            ("example.com/x=y", false),
        ] {
            assert_eq!(Selector::parse(s).unwrap().matches(&l), want, "{s}");
        }
        assert!(Selector::parse("app in web").is_err());
        assert!(Selector::parse("a=b=c").is_err());
        assert_eq!(
            Selector::parse("tier in (fe,be),app=web")
                .unwrap()
                .to_string(),
            "app=web,tier in (be,fe)"
        );
    }
}
