//! Binary operators: arithmetic, comparison (with and without `bool`) and
//! set operators, between scalars and vectors, with Prometheus's vector
//! matching (`on`, `ignoring`, `group_left`, `group_right`), its errors and
//! the experimental `fill`/`fill_left`/`fill_right` modifiers.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use promql_parser::label::Labels as NameList;
use promql_parser::parser::token::*;
use promql_parser::parser::{
    BinModifier, BinaryExpr, LabelModifier, VectorMatchCardinality, VectorMatchFillValues,
};

use super::{Ctx, Elem, Steps, Val, eval};
use crate::model::{Labels, METRIC_NAME};
use crate::promql::error::QueryError;

pub(crate) fn eval_binary(ctx: &mut Ctx, steps: &Steps, b: &BinaryExpr) -> Result<Val, QueryError> {
    let op = b.op.id();
    let lhs = eval(ctx, steps, &b.lhs)?;
    let rhs = eval(ctx, steps, &b.rhs)?;
    let rb = b.return_bool();
    Ok(match (lhs, rhs) {
        (Val::Scalar(l), Val::Scalar(r)) => Val::Scalar(
            l.iter()
                .zip(&r)
                .map(|(&a, &c)| scalar_binop(op, a, c))
                .collect(),
        ),
        (Val::Vector(l), Val::Scalar(r)) => Val::Vector(vector_scalar(op, l, &r, false, rb)),
        (Val::Scalar(l), Val::Vector(r)) => Val::Vector(vector_scalar(op, r, &l, true, rb)),
        (Val::Vector(l), Val::Vector(r)) => {
            let default = BinModifier::default();
            let m = b.modifier.as_ref().unwrap_or(&default);
            let mut out = Vec::with_capacity(l.len());
            let mut caches = Caches::default();
            for (ls, rs) in l.iter().zip(&r) {
                out.push(vector_vector(op, m, ls, rs, &mut caches)?);
            }
            Val::Vector(out)
        }
        _ => {
            return Err(QueryError::exec(
                "invalid operand types for binary operator",
            ));
        }
    })
}

fn is_comparison(op: TokenId) -> bool {
    matches!(op, T_EQLC | T_NEQ | T_GTR | T_LSS | T_GTE | T_LTE)
}

/// Prometheus drops `__name__` for arithmetic (and `bool` comparisons).
fn drops_name(op: TokenId) -> bool {
    !is_comparison(op)
}

fn arith(op: TokenId, l: f64, r: f64) -> f64 {
    match op {
        T_ADD => l + r,
        T_SUB => l - r,
        T_MUL => l * r,
        T_DIV => l / r,
        T_MOD => l % r,
        T_POW => l.powf(r),
        T_ATAN2 => l.atan2(r),
        _ => f64::NAN,
    }
}

fn compare(op: TokenId, l: f64, r: f64) -> bool {
    match op {
        T_EQLC => l == r,
        T_NEQ => l != r,
        T_GTR => l > r,
        T_LSS => l < r,
        T_GTE => l >= r,
        T_LTE => l <= r,
        _ => false,
    }
}

/// Scalar-scalar: comparisons always carry `bool` here and give 0 or 1.
fn scalar_binop(op: TokenId, l: f64, r: f64) -> f64 {
    if is_comparison(op) {
        f64::from(u8::from(compare(op, l, r)))
    } else {
        arith(op, l, r)
    }
}

/// Result of one element operation: value, and whether the element stays.
fn elem_op(op: TokenId, l: f64, r: f64, return_bool: bool) -> (f64, bool) {
    if is_comparison(op) {
        let keep = compare(op, l, r);
        if return_bool {
            (f64::from(u8::from(keep)), true)
        } else {
            (l, keep)
        }
    } else {
        (arith(op, l, r), true)
    }
}

/// Vector-scalar operations. A comparison keeps the vector element's value
/// even when the scalar is on the left.
fn vector_scalar(
    op: TokenId,
    vecs: Vec<Vec<Elem>>,
    scalars: &[f64],
    swap: bool,
    return_bool: bool,
) -> Vec<Vec<Elem>> {
    vecs.into_iter()
        .zip(scalars)
        .map(|(elems, &s)| {
            elems
                .into_iter()
                .filter_map(|mut e| {
                    let (l, r) = if swap { (s, e.v) } else { (e.v, s) };
                    let (mut v, keep) = elem_op(op, l, r, return_bool);
                    if !keep {
                        return None;
                    }
                    if is_comparison(op) && swap && !return_bool {
                        v = e.v;
                    }
                    e.v = v;
                    e.drop_name |= drops_name(op) || return_bool;
                    Some(e)
                })
                .collect()
        })
        .collect()
}

/// The matching signature of a label set: the `on` labels, or all labels
/// except the `ignoring` ones and `__name__`.
pub(crate) fn signature(labels: &Labels, matching: Option<&LabelModifier>) -> Labels {
    match matching {
        Some(LabelModifier::Include(on)) => Labels::from_sorted(
            labels
                .iter()
                .filter(|l| on.labels.contains(&l.name))
                .cloned()
                .collect(),
        ),
        Some(LabelModifier::Exclude(ign)) => Labels::from_sorted(
            labels
                .iter()
                .filter(|l| l.name != METRIC_NAME && !ign.labels.contains(&l.name))
                .cloned()
                .collect(),
        ),
        None => Labels::from_sorted(
            labels
                .iter()
                .filter(|l| l.name != METRIC_NAME)
                .cloned()
                .collect(),
        ),
    }
}

/// Caches keyed by the address of shared label sets. Valid because every
/// step of both operands stays alive until the operation has finished, so
/// an address cannot be reused by another label set meanwhile.
#[derive(Default)]
struct Caches {
    sig: HashMap<*const Labels, u64>,
    result: HashMap<(*const Labels, *const Labels), (Rc<Labels>, u64)>,
}

impl Caches {
    fn sig(&mut self, l: &Rc<Labels>, matching: Option<&LabelModifier>) -> u64 {
        *self
            .sig
            .entry(Rc::as_ptr(l))
            .or_insert_with(|| signature(l, matching).fingerprint())
    }
}

fn vector_vector(
    op: TokenId,
    m: &BinModifier,
    lhs: &[Elem],
    rhs: &[Elem],
    caches: &mut Caches,
) -> Result<Vec<Elem>, QueryError> {
    let matching = m.matching.as_ref();
    match op {
        T_LAND | T_LUNLESS => {
            let sigs: HashSet<u64> = rhs
                .iter()
                .map(|e| caches.sig(&e.labels, matching))
                .collect();
            let keep = op == T_LAND;
            Ok(lhs
                .iter()
                .filter(|e| sigs.contains(&caches.sig(&e.labels, matching)) == keep)
                .cloned()
                .collect())
        }
        T_LOR => {
            let sigs: HashSet<u64> = lhs
                .iter()
                .map(|e| caches.sig(&e.labels, matching))
                .collect();
            let mut out = lhs.to_vec();
            out.extend(
                rhs.iter()
                    .filter(|e| !sigs.contains(&caches.sig(&e.labels, matching)))
                    .cloned(),
            );
            Ok(out)
        }
        _ => match_and_apply(op, m, lhs, rhs, caches),
    }
}

/// The side that must be unique: the right one, or the left for
/// `group_right`.
fn side_name(swapped: bool) -> &'static str {
    if swapped { "left" } else { "right" }
}

/// Arithmetic and comparison between two vectors, one-to-one or
/// many-to-one / one-to-many, as Prometheus's `VectorBinop`:
///
/// 1. nothing to match (a side empty and no fill value): no result and no
///    error, even if the other side has duplicates;
/// 2. two series of the "one" side with the same signature: many-to-many,
///    an error naming both (in label order, so it reads the same each run);
/// 3. each pair is checked for cardinality *before* a comparison filters
///    it out (Prometheus 3.9+): one-to-one matching that finds a second
///    series of the "many" side fails even when the comparison would have
///    dropped one of them.
fn match_and_apply(
    op: TokenId,
    m: &BinModifier,
    lhs: &[Elem],
    rhs: &[Elem],
    caches: &mut Caches,
) -> Result<Vec<Elem>, QueryError> {
    let matching = m.matching.as_ref();
    let (swapped, include) = match &m.card {
        VectorMatchCardinality::OneToMany(ls) => (true, Some(ls)),
        VectorMatchCardinality::ManyToOne(ls) => (false, Some(ls)),
        _ => (false, None),
    };
    let fill = &m.fill_values;
    let no_fill = fill.lhs.is_none() && fill.rhs.is_none();
    if (lhs.is_empty() && rhs.is_empty()) || ((lhs.is_empty() || rhs.is_empty()) && no_fill) {
        return Ok(Vec::new());
    }
    let (many, one) = if swapped { (rhs, lhs) } else { (lhs, rhs) };
    let mut one_by_sig: HashMap<u64, usize> = HashMap::with_capacity(one.len());
    for (i, e) in one.iter().enumerate() {
        let sig = caches.sig(&e.labels, matching);
        if let Some(&j) = one_by_sig.get(&sig) {
            let shown = signature(&e.labels, matching);
            return Err(duplicate_error(&shown, side_name(swapped), e, &one[j]));
        }
        one_by_sig.insert(sig, i);
    }
    let mut out = Vec::with_capacity(many.len());
    // One-to-one: the signatures matched so far. Group modifiers: the
    // (signature, result labels) pairs produced so far.
    let mut matched_sigs: HashSet<u64> = HashSet::new();
    let mut inserted: HashSet<(u64, u64)> = HashSet::new();
    let mut used_one: HashSet<usize> = HashSet::new();
    for e in many {
        let sig = caches.sig(&e.labels, matching);
        let (one_val, one_elem) = match one_by_sig.get(&sig) {
            Some(&j) => {
                used_one.insert(j);
                (one[j].v, Some(&one[j]))
            }
            None => match if swapped { fill.lhs } else { fill.rhs } {
                Some(f) => (f, None),
                None => continue,
            },
        };
        let (l, r) = if swapped {
            (one_val, e.v)
        } else {
            (e.v, one_val)
        };
        let pair = PairCtx {
            op,
            m,
            include,
            one_labels: one_elem,
        };
        let (res, res_fp, keep) = apply_pair(&pair, e, l, r, caches);
        if include.is_none() {
            if !matched_sigs.insert(sig) {
                return Err(QueryError::exec(
                    "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)",
                ));
            }
        } else if !inserted.insert((sig, res_fp)) {
            return Err(QueryError::exec(
                "multiple matches for labels: grouping labels must ensure unique matches",
            ));
        }
        if keep {
            out.push(res);
        }
    }
    fill_unmatched_one(op, m, one, &used_one, swapped, &mut out, caches);
    Ok(out)
}

struct PairCtx<'a> {
    op: TokenId,
    m: &'a BinModifier,
    include: Option<&'a NameList>,
    one_labels: Option<&'a Elem>,
}

/// Applies the operator to one matched pair: the result element, its
/// labels' fingerprint, and whether it stays (a comparison without `bool`
/// drops the pairs it fails; they still count for the cardinality checks).
fn apply_pair(c: &PairCtx, many: &Elem, l: f64, r: f64, caches: &mut Caches) -> (Elem, u64, bool) {
    let (v, keep) = elem_op(c.op, l, r, c.m.return_bool);
    let one = c.one_labels.map(|e| &e.labels);
    let key = (
        Rc::as_ptr(&many.labels),
        one.map_or(std::ptr::null(), Rc::as_ptr),
    );
    let (labels, fp) = caches
        .result
        .entry(key)
        .or_insert_with(|| {
            let l = result_labels(&many.labels, one.map(|l| &**l), c.m, c.include);
            let fp = l.fingerprint();
            (Rc::new(l), fp)
        })
        .clone();
    let drop_name = many.drop_name || drops_name(c.op) || c.m.return_bool;
    (
        Elem {
            labels,
            v,
            drop_name,
        },
        fp,
        keep,
    )
}

/// Elements of the "one" side without a match, kept when `fill_left` /
/// `fill_right` gives the missing side a value.
fn fill_unmatched_one(
    op: TokenId,
    m: &BinModifier,
    one: &[Elem],
    used: &HashSet<usize>,
    swapped: bool,
    out: &mut Vec<Elem>,
    caches: &mut Caches,
) {
    let VectorMatchFillValues { lhs: fl, rhs: fr } = m.fill_values;
    let fill_many = if swapped { fr } else { fl };
    let Some(f) = fill_many else { return };
    for (j, e) in one.iter().enumerate() {
        if used.contains(&j) {
            continue;
        }
        let (l, r) = if swapped { (e.v, f) } else { (f, e.v) };
        let c = PairCtx {
            op,
            m,
            include: None,
            one_labels: None,
        };
        let (mut res, _, keep) = apply_pair(&c, e, l, r, caches);
        if keep {
            if is_comparison(op) && !m.return_bool {
                res.v = l;
            }
            // The result stands for a missing left operand: no metric name.
            res.drop_name |= !swapped;
            out.push(res);
        }
    }
}

/// The labels of a result element (Prometheus's `resultMetric`): one-to-one
/// keeps the `on` labels or drops the `ignoring` ones; group modifiers copy
/// the listed labels from the "one" side.
fn result_labels(
    many: &Labels,
    one: Option<&Labels>,
    m: &BinModifier,
    include: Option<&NameList>,
) -> Labels {
    let mut lb = many.clone();
    match include {
        None => match &m.matching {
            Some(LabelModifier::Include(on)) => {
                lb = Labels::from_sorted(
                    many.iter()
                        .filter(|l| on.labels.contains(&l.name))
                        .cloned()
                        .collect(),
                );
            }
            Some(LabelModifier::Exclude(ign)) => {
                for n in &ign.labels {
                    lb.remove(n);
                }
            }
            None => {}
        },
        Some(names) => {
            if let Some(one) = one {
                for n in &names.labels {
                    lb.set(n, one.get(n).unwrap_or(""));
                }
            }
        }
    }
    lb
}

/// Prometheus's many-to-many error; the two series in the order of their
/// texts, as Prometheus orders them so the message is the same each run.
fn duplicate_error(sig: &Labels, side: &str, a: &Elem, b: &Elem) -> QueryError {
    let (mut first, mut second) = (prom_labels(&a.labels), prom_labels(&b.labels));
    if first > second {
        std::mem::swap(&mut first, &mut second);
    }
    QueryError::exec(format!(
        "found duplicate series for the match group {} on the {side} hand-side of the operation: [{first}, {second}];many-to-many matching not allowed: matching labels must be unique on one side",
        prom_labels(sig),
    ))
}

/// Prometheus's `labels.String()`: `{__name__="x", a="b"}`.
pub(crate) fn prom_labels(l: &Labels) -> String {
    let parts: Vec<String> = l
        .iter()
        .map(|l| format!("{}={:?}", l.name, l.value))
        .collect();
    format!("{{{}}}", parts.join(", "))
}
