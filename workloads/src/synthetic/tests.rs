//! Generator-level tests: determinism, shapes, GQA, errors. The attention
//! structure of each profile is tested with the CPU reference in
//! `kernels/tests/profiles.rs`.

use super::*;

fn spec(profile: &str, seq_len: usize, heads: usize, kv_heads: usize, head_dim: usize, seed: u64) -> SyntheticSpec {
    SyntheticSpec {
        profile: profile.to_string(),
        seq_len,
        heads,
        kv_heads,
        head_dim,
        seed,
    }
}

/// FNV-1a over the bits of Q, K and V.
fn checksum(w: &Workload) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for t in [w.q(), w.k(), w.v()] {
        for x in t.data() {
            h = (h ^ x.to_bits() as u64).wrapping_mul(0x100_0000_01b3);
        }
    }
    h
}

/// Golden values: if these change, every committed result on synthetic
/// workloads changes with them. Update them only on purpose.
#[test]
fn golden_checksum() {
    let w = generate(&spec("llama-like", 300, 4, 2, 64, 42)).unwrap();
    let picks = [
        w.q().row(1, 7)[0],
        w.q().row(3, 299)[30],
        w.k().row(1, 150)[40],
        w.v().row(0, 0)[63],
    ];
    assert_eq!(picks, [5.656854, 2.1928532, -2.5967271, 0.2476397], "picked values");
    assert_eq!(checksum(&w), 4_153_780_021_869_861_788, "checksum of Q, K, V");
}

#[test]
fn same_seed_same_tensors_other_seed_other_tensors() {
    let a = generate(&spec("mixed", 700, 4, 2, 64, 9)).unwrap();
    let b = generate(&spec("mixed", 700, 4, 2, 64, 9)).unwrap();
    let c = generate(&spec("mixed", 700, 4, 2, 64, 10)).unwrap();
    assert_eq!((a.q(), a.k(), a.v()), (b.q(), b.k(), b.v()));
    assert_ne!(a.q(), c.q());
    assert_ne!(a.k(), c.k());
    assert_ne!(a.v(), c.v());
}

#[test]
fn result_does_not_depend_on_thread_count() {
    let s = spec("vertical-slash", 2500, 3, 3, 64, 5);
    let many = generate(&s).unwrap();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let one = pool.install(|| generate(&s)).unwrap();
    assert_eq!(checksum(&many), checksum(&one));
}

#[test]
fn gqa_shapes_and_shared_structure() {
    let w = generate(&spec("vertical-slash", 640, 8, 2, 128, 3)).unwrap();
    assert_eq!(w.q().shape(), [8, 640, 128]);
    assert_eq!(w.k().shape(), [2, 640, 128]);
    assert_eq!(w.v().shape(), [2, 640, 128]);
    assert_eq!(w.kv_head_of(3), 0);
    assert_eq!(w.kv_head_of(4), 1);
    // Heads of one group share their structure and differ in their noise dims only.
    let layout = Layout::new(128).unwrap();
    let (a, b) = (w.q().row(0, 500), w.q().row(1, 500));
    assert_eq!(a[..layout.noise.start], b[..layout.noise.start]);
    assert_ne!(a[layout.noise.clone()], b[layout.noise.clone()]);
    // Different kv heads have different plans.
    let plans = spec("vertical-slash", 640, 8, 2, 128, 3).plans().unwrap();
    assert_ne!(plans[0], plans[1]);
}

#[test]
fn any_length_and_both_head_dims() {
    for (seq, dim) in [(1, 64), (2, 64), (63, 128), (1000, 64), (1000, 128), (4099, 64)] {
        let w = generate(&spec("mixed", seq, 4, 4, dim, 0)).unwrap();
        assert_eq!(w.q().shape(), [4, seq, dim]);
        assert_eq!(w.seq_len(), seq);
    }
}

#[test]
fn workload_is_named_after_the_profile() {
    let w = generate(&spec("vertical-slash", 64, 1, 1, 64, 0)).unwrap();
    assert_eq!(w.name, "synthetic:vertical-slash");
    assert_eq!(w.seed, 0);
    let w = generate(&spec(" block:noise=0.5 ", 64, 1, 1, 64, 0)).unwrap();
    assert_eq!(w.name, "synthetic:block:noise=0.5");
}

#[test]
fn overrides_change_the_queries() {
    let base = generate(&spec("vertical-slash", 256, 1, 1, 64, 0)).unwrap();
    let quiet = generate(&spec("vertical-slash:noise=0", 256, 1, 1, 64, 0)).unwrap();
    assert_eq!(base.k(), quiet.k(), "keys do not depend on the profile");
    let noise = Layout::new(64).unwrap().noise;
    assert!(quiet.q().row(0, 100)[noise.clone()].iter().all(|&x| x == 0.0));
    assert!(base.q().row(0, 100)[noise].iter().any(|&x| x != 0.0));
}

#[test]
fn bad_specs_are_errors_naming_the_problem() {
    let cases = [
        (spec("streaming", 64, 0, 1, 64, 0), "heads = 0"),
        (spec("streaming", 64, 4, 0, 64, 0), "kv_heads = 0"),
        (spec("streaming", 64, 4, 3, 64, 0), "must divide heads = 4"),
        (spec("streaming", 0, 4, 4, 64, 0), "seq_len = 0"),
        (spec("streaming", MAX_SEQ_LEN + 1, 1, 1, 64, 0), "at most"),
        (spec("streaming", 64, 4, 4, 0, 0), "head_dim = 0"),
        (spec("streaming", 64, 4, 4, 16, 0), "at least 32"),
        (
            spec("stream", 64, 4, 4, 64, 0),
            "known profiles: streaming, vertical-slash",
        ),
        (spec("block:sharp=2", 64, 4, 4, 64, 0), "keys: sink, local"),
        (spec("block:block=x", 64, 4, 4, 64, 0), "block = x"),
        (spec("block:noise=101", 64, 4, 4, 64, 0), "[0, 100]"),
    ];
    for (s, expected) in cases {
        let e = generate(&s).unwrap_err().to_string();
        assert!(e.contains(expected), "{s:?}: `{e}` lacks `{expected}`");
    }
}

#[test]
fn profile_names_cover_the_issue() {
    assert_eq!(
        profile_names(),
        [
            "streaming",
            "vertical-slash",
            "block",
            "retrieval",
            "mixed",
            "llama-like"
        ]
    );
    for name in &profile_names()[..4] {
        assert!(HeadProfile::named(name).is_ok());
    }
    let heads = spec("llama-like", 8, 32, 8, 64, 1).head_profiles().unwrap();
    assert_eq!(heads.iter().filter(|(n, _)| *n == "vertical-slash").count(), 19);
}

/// Generation time of the largest routine size (no assertion; timing only):
/// `cargo test -p sparselab-workloads --release generation_speed -- --ignored --nocapture`.
#[test]
#[ignore]
fn generation_speed() {
    let s = spec("llama-like", 16384, 32, 8, 128, 0);
    let t = std::time::Instant::now();
    let w = generate(&s).unwrap();
    println!(
        "32 x 16384 x 128 (8 kv heads): {:.2} s on {} threads",
        t.elapsed().as_secs_f64(),
        rayon::current_num_threads()
    );
    assert_eq!(w.heads(), 32);
}
