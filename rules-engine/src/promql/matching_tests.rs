//! Property test of vector matching: the engine against a small reference
//! model of Prometheus's rules (its engine's `VectorBinop`, `VectorAnd`,
//! `VectorOr`, `VectorUnless`), written naively from those rules, over
//! random vectors, operators and `on`/`ignoring`/`group_left`/`group_right`
//! modifiers. Results must be equal as sets; errors word for word.

use std::collections::{BTreeMap, HashSet};

use proptest::prelude::*;

use super::{Engine, EngineOptions, QueryError, Value};
use crate::model::{Labels, Matcher, Sample};
use crate::store::{Querier, SeriesSamples};

/// Series `l{…}` and `r{…}` with one sample each at t=0, sorted by labels
/// as a store returns them.
struct Fixed(Vec<SeriesSamples>);

impl Querier for Fixed {
    fn select(&self, ms: &[Matcher], mint: i64, maxt: i64) -> Vec<SeriesSamples> {
        self.0
            .iter()
            .filter(|s| {
                ms.iter()
                    .all(|m| m.matches(s.labels.get(&m.name).unwrap_or("")))
            })
            .filter(|s| s.samples.iter().any(|p| p.t >= mint && p.t <= maxt))
            .cloned()
            .collect()
    }
    fn series(&self, ms: &[Matcher], mint: i64, maxt: i64) -> Vec<Labels> {
        self.select(ms, mint, maxt)
            .into_iter()
            .map(|s| s.labels)
            .collect()
    }
    fn label_names(&self, _: &[Matcher], _: i64, _: i64) -> Vec<String> {
        Vec::new()
    }
    fn label_values(&self, _: &str, _: &[Matcher], _: i64, _: i64) -> Vec<String> {
        Vec::new()
    }
}

type Vector = Vec<(Labels, f64)>;

#[derive(Debug, Clone)]
enum Matching {
    Default,
    On(Vec<&'static str>),
    Ignoring(Vec<&'static str>),
}

#[derive(Debug, Clone)]
enum Card {
    OneToOne,
    GroupLeft(Vec<&'static str>),
    GroupRight(Vec<&'static str>),
}

#[derive(Debug, Clone)]
struct Case {
    lhs: Vector,
    rhs: Vector,
    op: &'static str,
    bool_mod: bool,
    matching: Matching,
    card: Card,
}

impl Case {
    fn query(&self) -> String {
        let list = |ls: &[&str]| ls.join(", ");
        let matching = match &self.matching {
            Matching::Default => String::new(),
            Matching::On(ls) => format!(" on({})", list(ls)),
            Matching::Ignoring(ls) => format!(" ignoring({})", list(ls)),
        };
        let card = match &self.card {
            Card::OneToOne => String::new(),
            Card::GroupLeft(ls) => format!(" group_left({})", list(ls)),
            Card::GroupRight(ls) => format!(" group_right({})", list(ls)),
        };
        let b = if self.bool_mod { " bool" } else { "" };
        format!("l {}{b}{matching}{card} r", self.op)
    }
}

fn is_set(op: &str) -> bool {
    matches!(op, "and" | "or" | "unless")
}

fn is_comparison(op: &str) -> bool {
    matches!(op, "==" | "!=" | ">" | "<" | ">=" | "<=")
}

/// The matching signature: the `on` labels, or all but the `ignoring`
/// ones and the name.
fn sig(l: &Labels, m: &Matching) -> Vec<(String, String)> {
    l.iter()
        .filter(|x| match m {
            Matching::On(on) => on.contains(&x.name.as_str()),
            Matching::Ignoring(ign) => x.name != "__name__" && !ign.contains(&x.name.as_str()),
            Matching::Default => x.name != "__name__",
        })
        .map(|x| (x.name.clone(), x.value.clone()))
        .collect()
}

fn prom(l: &Labels) -> String {
    super::eval::binary::prom_labels(l)
}

/// Prometheus's rules, naively. `Err` is the error text.
fn model(c: &Case) -> Result<Vector, String> {
    let m = &c.matching;
    let out: Vec<(Labels, f64, bool)> = if is_set(c.op) {
        let rsigs: HashSet<_> = c.rhs.iter().map(|(l, _)| sig(l, m)).collect();
        let lsigs: HashSet<_> = c.lhs.iter().map(|(l, _)| sig(l, m)).collect();
        let keep = |l: &Labels, v: f64| (l.clone(), v, false);
        match c.op {
            "and" => c
                .lhs
                .iter()
                .filter(|(l, _)| rsigs.contains(&sig(l, m)))
                .map(|(l, v)| keep(l, *v))
                .collect(),
            "unless" => c
                .lhs
                .iter()
                .filter(|(l, _)| !rsigs.contains(&sig(l, m)))
                .map(|(l, v)| keep(l, *v))
                .collect(),
            _ => c
                .lhs
                .iter()
                .map(|(l, v)| keep(l, *v))
                .chain(
                    c.rhs
                        .iter()
                        .filter(|(l, _)| !lsigs.contains(&sig(l, m)))
                        .map(|(l, v)| keep(l, *v)),
                )
                .collect(),
        }
    } else {
        binop(c)?
    };
    // Names marked for removal leave; the result must be unique.
    let mut seen = HashSet::new();
    let mut result = Vec::new();
    for (mut l, v, drop_name) in out {
        if drop_name {
            l.remove("__name__");
        }
        if !seen.insert(l.clone()) {
            return Err("vector cannot contain metrics with the same labelset".into());
        }
        result.push((l, v));
    }
    Ok(result)
}

/// Arithmetic and comparisons (`VectorBinop`): `(labels, value, drop name)`.
fn binop(c: &Case) -> Result<Vec<(Labels, f64, bool)>, String> {
    if c.lhs.is_empty() || c.rhs.is_empty() {
        return Ok(Vec::new());
    }
    let right = matches!(c.card, Card::GroupRight(_));
    let (many, one) = if right {
        (&c.rhs, &c.lhs)
    } else {
        (&c.lhs, &c.rhs)
    };
    let mut by_sig: BTreeMap<Vec<(String, String)>, &(Labels, f64)> = BTreeMap::new();
    for e in one {
        if let Some(prev) = by_sig.insert(sig(&e.0, &c.matching), e) {
            let group = Labels::from_pairs(sig(&e.0, &c.matching));
            let mut pair = [prom(&e.0), prom(&prev.0)];
            pair.sort();
            return Err(format!(
                "found duplicate series for the match group {} on the {} hand-side of the operation: [{}, {}];many-to-many matching not allowed: matching labels must be unique on one side",
                prom(&group),
                if right { "left" } else { "right" },
                pair[0],
                pair[1]
            ));
        }
    }
    let mut matched = HashSet::new();
    let mut out = Vec::new();
    for (ml, mv) in many {
        let s = sig(ml, &c.matching);
        let Some((ol, ov)) = by_sig.get(&s).copied() else {
            continue;
        };
        let (lv, rv) = if right { (*ov, *mv) } else { (*mv, *ov) };
        let (mut v, keep) = match c.op {
            "+" => (lv + rv, true),
            "-" => (lv - rv, true),
            "*" => (lv * rv, true),
            "/" => (lv / rv, true),
            "%" => (lv % rv, true),
            "^" => (lv.powf(rv), true),
            "atan2" => (lv.atan2(rv), true),
            op => {
                let k = match op {
                    "==" => lv == rv,
                    "!=" => lv != rv,
                    ">" => lv > rv,
                    "<" => lv < rv,
                    ">=" => lv >= rv,
                    _ => lv <= rv,
                };
                (lv, k)
            }
        };
        let keep = keep || c.bool_mod;
        if c.bool_mod {
            v = if keep_of(c.op, lv, rv) { 1.0 } else { 0.0 };
        }
        let mut labels = ml.clone();
        let include = match &c.card {
            Card::OneToOne => {
                labels = match &c.matching {
                    Matching::On(on) => Labels::from_pairs(
                        ml.iter()
                            .filter(|x| on.contains(&x.name.as_str()))
                            .map(|x| (x.name.clone(), x.value.clone())),
                    ),
                    Matching::Ignoring(ign) => Labels::from_pairs(
                        ml.iter()
                            .filter(|x| !ign.contains(&x.name.as_str()))
                            .map(|x| (x.name.clone(), x.value.clone())),
                    ),
                    Matching::Default => ml.clone(),
                };
                None
            }
            Card::GroupLeft(ls) | Card::GroupRight(ls) => {
                for n in ls {
                    labels.set(n, ol.get(n).unwrap_or(""));
                }
                Some(())
            }
        };
        let key = (s.clone(), include.map(|_| labels.clone()));
        if !matched.insert(key) {
            return Err(match c.card {
                Card::OneToOne => "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)",
                _ => "multiple matches for labels: grouping labels must ensure unique matches",
            }
            .into());
        }
        if keep {
            let drop_name = !is_comparison(c.op) || c.bool_mod;
            out.push((labels, v, drop_name));
        }
    }
    Ok(out)
}

fn keep_of(op: &str, l: f64, r: f64) -> bool {
    match op {
        "==" => l == r,
        "!=" => l != r,
        ">" => l > r,
        "<" => l < r,
        ">=" => l >= r,
        _ => l <= r,
    }
}

fn labels_strategy(name: &'static str) -> impl Strategy<Value = Vector> {
    let one = (0..3usize, 0..3usize, 0..4u8).prop_map(move |(a, b, v)| {
        let mut pairs = vec![("__name__", name.to_string())];
        if a > 0 {
            pairs.push(("a", a.to_string()));
        }
        if b > 0 {
            pairs.push(("b", ["", "x", "y"][b].to_string()));
        }
        (Labels::from_pairs(pairs), f64::from(v))
    });
    prop::collection::vec(one, 0..5).prop_map(|mut v| {
        v.sort_by(|x, y| x.0.cmp(&y.0));
        v.dedup_by(|x, y| x.0 == y.0);
        v
    })
}

fn case_strategy() -> impl Strategy<Value = Case> {
    let ops = prop::sample::select(vec![
        "+", "-", "*", "/", "%", "^", "atan2", "==", "!=", ">", "<", ">=", "<=", "and", "or",
        "unless",
    ]);
    let lists = prop::sample::select(vec![vec![], vec!["a"], vec!["b"], vec!["a", "b"]]);
    let matching = (0..3u8, lists.clone()).prop_map(|(k, ls)| match k {
        0 => Matching::Default,
        1 => Matching::On(ls),
        _ => Matching::Ignoring(ls),
    });
    let card = (0..3u8, lists).prop_map(|(k, ls)| match k {
        0 => Card::OneToOne,
        1 => Card::GroupLeft(ls),
        _ => Card::GroupRight(ls),
    });
    (
        labels_strategy("l"),
        labels_strategy("r"),
        ops,
        any::<bool>(),
        matching,
        card,
    )
        .prop_map(|(lhs, rhs, op, b, matching, card)| Case {
            bool_mod: b && is_comparison(op),
            card: if is_set(op) { Card::OneToOne } else { card },
            lhs,
            rhs,
            op,
            matching,
        })
}

fn store(c: &Case) -> Fixed {
    let mut series: Vec<SeriesSamples> = c
        .lhs
        .iter()
        .chain(&c.rhs)
        .map(|(l, v)| SeriesSamples {
            labels: l.clone(),
            samples: vec![Sample { t: 0, v: *v }],
        })
        .collect();
    series.sort_by(|a, b| a.labels.cmp(&b.labels));
    Fixed(series)
}

fn same(a: &Vector, b: &Vector) -> bool {
    let norm = |v: &Vector| {
        let mut v: Vec<(Labels, u64)> = v
            .iter()
            .map(|(l, x)| (l.clone(), if x.is_nan() { u64::MAX } else { x.to_bits() }))
            .collect();
        v.sort();
        v
    };
    norm(a) == norm(b)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn vector_matching_follows_prometheus(c in case_strategy()) {
        let q = c.query();
        let engine = Engine::new(EngineOptions::default());
        let got = match engine.instant(&store(&c), &q, 0) {
            // The parser refuses some modifier combinations outright.
            Err(QueryError::Parse(_)) => return Ok(()),
            Err(e) => Err(e.to_string()),
            Ok(out) => match out.value {
                Value::Vector(v) => Ok(v.into_iter().map(|(l, s)| (l, s.v)).collect::<Vector>()),
                other => Err(format!("unexpected {}", other.type_name())),
            },
        };
        match (model(&c), got) {
            (Ok(want), Ok(got)) => prop_assert!(same(&want, &got), "{q}\nlhs {:?}\nrhs {:?}\nwant {want:?}\ngot {got:?}", c.lhs, c.rhs),
            (Err(want), Err(got)) => prop_assert_eq!(want, got, "{}", q),
            (want, got) => prop_assert!(false, "{q}\nlhs {:?}\nrhs {:?}\nwant {want:?}\ngot {got:?}", c.lhs, c.rhs),
        }
    }
}
