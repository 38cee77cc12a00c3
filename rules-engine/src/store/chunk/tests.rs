use super::*;
use crate::model::{STALE_NAN_BITS, stale_nan};
use proptest::prelude::*;

/// Encodes like a series does (cutting a chunk when full or when a value
/// does not fit) and decodes everything back.
fn round_trip(samples: &[(i64, u64)]) -> (Vec<(i64, u64)>, usize) {
    let mut closed: Vec<Chunk> = Vec::new();
    let mut open: Option<OpenChunk> = None;
    for &(t, bits) in samples {
        let v = f64::from_bits(bits);
        if let Some(c) = open.as_mut()
            && c.num_samples() < 120
            && c.try_append(t, v)
        {
            continue;
        }
        let from = open.as_ref().and_then(|c| c.scale()).unwrap_or(0);
        if let Some(c) = open.take() {
            closed.push(c.close());
        }
        let mut c = OpenChunk::for_value(v, from);
        assert!(c.try_append(t, v), "a fresh chunk takes its first value");
        open = Some(c);
    }
    let mut out = Vec::new();
    let views = closed
        .iter()
        .map(Chunk::as_ref)
        .chain(open.iter().map(OpenChunk::as_ref));
    let mut chunks = 0;
    for c in views {
        chunks += 1;
        assert_eq!(c.iter().count(), c.num_samples() as usize);
        out.extend(c.iter().map(|s| (s.t, s.v.to_bits())));
    }
    (out, chunks)
}

fn decimal_value() -> impl Strategy<Value = f64> {
    (any::<i32>(), 0u32..7).prop_map(|(m, s)| format!("{}e-{s}", m).parse::<f64>().unwrap())
}

proptest! {
    #[test]
    fn arbitrary_ascending_samples_round_trip_bit_exact(
        start in any::<i64>(),
        steps in proptest::collection::vec((0u64..u64::MAX / 256, any::<u64>()), 0..300),
    ) {
        let mut t = start;
        let mut samples = Vec::new();
        for (step, v) in steps {
            samples.push((t, v));
            t = t.saturating_add(step as i64 + 1);
        }
        prop_assert_eq!(round_trip(&samples).0, samples);
    }

    #[test]
    fn decimal_and_special_values_round_trip(
        jitter in proptest::collection::vec(-20_000i64..20_000, 1..400),
        values in proptest::collection::vec(prop_oneof![
            6 => decimal_value(),
            1 => any::<f64>(),
            1 => prop_oneof![Just(f64::NAN), Just(stale_nan()), Just(0.0), Just(-0.0),
                Just(f64::INFINITY), Just(f64::NEG_INFINITY), Just(f64::MAX), Just(f64::MIN_POSITIVE)],
        ], 400),
    ) {
        let samples: Vec<(i64, u64)> = jitter.iter().enumerate()
            .map(|(i, j)| (1_700_000_000_000 + i as i64 * 30_000 + j, values[i].to_bits()))
            .collect();
        prop_assert_eq!(round_trip(&samples).0, samples);
    }
}

#[test]
fn staleness_marker_and_negative_zero_survive() {
    let samples = [
        (1000, 1.5f64.to_bits()),
        (2000, STALE_NAN_BITS),
        (3000, f64::NAN.to_bits()),
        (4000, (-0.0f64).to_bits()),
        (5000, 0.0f64.to_bits()),
        (6000, 7.25f64.to_bits()),
    ];
    assert_eq!(round_trip(&samples).0, samples);
}

#[test]
fn constant_series_costs_about_two_bits_per_sample() {
    for v in [42.0, 1.0 / 3.0] {
        let mut c = OpenChunk::for_value(v, 0);
        for i in 0..120 {
            assert!(c.try_append(1_700_000_000_000 + i * 15_000, v));
        }
        // 64 bits for the first value, 24 + 1 for the second sample (its
        // delta is a dod from 0), then 2 bits (dod 0, value 0) per sample.
        assert_eq!(
            c.as_ref().byte_len(),
            (64 + 24 + 1 + 118 * 2usize).div_ceil(8)
        );
        assert_eq!(c.last(), (1_700_000_000_000 + 119 * 15_000, v));
    }
}

#[test]
fn decimal_mode_beats_xor_on_counters_and_centi_seconds() {
    let size = |mut c: OpenChunk, step: f64, scale: f64| {
        let mut v = 1_234_567.0;
        for i in 0..120 {
            v = ((v * scale).round() + (step * scale * (1.0 + (i % 7) as f64 / 10.0)).round())
                / scale;
            assert!(c.try_append(i * 15_000, v));
        }
        c.as_ref().byte_len()
    };
    let counter_dec = size(OpenChunk::for_value(1.0, 0), 100.0, 1.0);
    let counter_xor = size(OpenChunk::xor(), 100.0, 1.0);
    assert!(
        counter_dec * 4 < counter_xor * 3,
        "{counter_dec} vs {counter_xor}"
    );
    let cpu_dec = size(OpenChunk::for_value(0.01, 0), 0.37, 100.0);
    let cpu_xor = size(OpenChunk::xor(), 0.37, 100.0);
    assert!(cpu_dec * 2 < cpu_xor, "{cpu_dec} vs {cpu_xor}");
}

#[test]
fn values_outside_the_scale_cut_the_chunk_and_pick_a_new_mode() {
    let mut c = OpenChunk::for_value(10.0, 0);
    assert_eq!(c.scale(), Some(0));
    assert!(c.try_append(1, 10.0));
    assert!(!c.try_append(2, 10.5), "needs one decimal");
    assert!(!c.try_append(2, stale_nan()));
    assert_eq!(c.num_samples(), 1);
    assert_eq!(OpenChunk::for_value(10.5, 0).scale(), Some(1));
    assert_eq!(OpenChunk::for_value(stale_nan(), 0).scale(), None);
    let samples = [(1, 10.0f64), (2, 10.5), (3, 11.0), (4, f64::NAN), (5, 12.0)];
    let bits: Vec<(i64, u64)> = samples.iter().map(|&(t, v)| (t, v.to_bits())).collect();
    let (out, chunks) = round_trip(&bits);
    assert_eq!(out, bits);
    // [10] | [10.5, 11] at scale 1 | [NaN, 12] in XOR.
    assert_eq!(chunks, 3);
}
