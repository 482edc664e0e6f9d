//! The solvers under dense attention and under simple masks.

use super::testing::attend;
use super::*;

#[test]
fn dense_attention_solves_mqar_at_zoologys_largest_config() {
    let task = MqarTask::build(&MqarConfig::new(512, 64), 24, &MqarSolver::default(), 0).unwrap();
    let out = attend(&task.workload, &task.probes(), |_, _, _| true);
    let score = task.score(&out).unwrap();
    assert!(score.accuracy >= 0.99, "dense accuracy {}", score.accuracy);
}

#[test]
fn a_local_window_loses_exactly_the_far_queries() {
    let task = MqarTask::build(&MqarConfig::new(512, 64), 8, &MqarSolver::default(), 1).unwrap();
    let window = 96;
    // Sink + local window: a query whose key's value token (at key_position + 1) is
    // outside the window cannot be answered.
    let out = attend(&task.workload, &task.probes(), |_, q, k| k == 0 || q - k < window);
    let score = task.score(&out).unwrap();
    let (mut near_ok, mut near, mut far_ok, mut far) = (0, 0, 0, 0);
    for (q, &ok) in task.queries().zip(&score.correct) {
        if q.position - (q.key_position + 1) < window {
            near += 1;
            near_ok += usize::from(ok);
        } else {
            far += 1;
            far_ok += usize::from(ok);
        }
    }
    assert!(near > 50 && far > 50, "both groups present: {near} near, {far} far");
    assert!(
        near_ok as f64 >= 0.98 * near as f64,
        "{near_ok}/{near} near queries kept"
    );
    assert!(
        far_ok as f64 <= 0.02 * far as f64,
        "{far_ok}/{far} far queries answered without their key"
    );
}

#[test]
fn outputs_of_the_wrong_size_are_rejected() {
    let task = MqarTask::build(&MqarConfig::new(64, 4), 2, &MqarSolver::default(), 0).unwrap();
    let e = task.score(&[0.0; 10]).unwrap_err().to_string();
    assert!(e.contains("[8, 128]"), "{e}");
}

#[test]
fn a_too_small_head_dim_is_named() {
    let solver = MqarSolver {
        head_dim: 20,
        ..MqarSolver::default()
    };
    let e = MqarTask::build(&MqarConfig::new(64, 4), 1, &solver, 0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("head_dim = 20") && e.contains("34"), "{e}");
}

fn haystack(profile: &str, seq_len: usize, heads: usize, kv_heads: usize) -> crate::Workload {
    crate::synthetic::generate(&crate::synthetic::SyntheticSpec {
        profile: profile.into(),
        seq_len,
        heads,
        kv_heads,
        head_dim: 64,
        seed: 3,
    })
    .unwrap()
}

#[test]
fn dense_attention_retrieves_every_needle_at_every_depth() {
    for profile in ["streaming", "vertical-slash", "llama-like"] {
        let hay = haystack(profile, 700, 4, 2);
        for variant in NiahVariant::ALL {
            for depth in [0.0, 0.3, 0.5, 1.0] {
                let task = NiahTask::plant(&hay, &NiahSpec::new(variant, depth, 9)).unwrap();
                let out = attend(&task.workload, &task.probes(), |_, _, _| true);
                let score = task.score(&out).unwrap();
                assert_eq!(
                    score.retrieval,
                    1.0,
                    "{profile} {} at depth {depth}: {:?}",
                    variant.name(),
                    score.per_question
                );
            }
        }
    }
}

#[test]
fn a_sink_and_window_mask_loses_the_middle_needles_only() {
    let hay = haystack("streaming", 1024, 2, 2);
    let a_shape = |_: usize, q: usize, k: usize| k < 16 || q - k < 64;
    for variant in NiahVariant::ALL {
        let score_at = |depth: f64| {
            let task = NiahTask::plant(&hay, &NiahSpec::new(variant, depth, 4)).unwrap();
            task.score(&attend(&task.workload, &task.probes(), a_shape))
                .unwrap()
                .retrieval
        };
        assert!(score_at(0.5) <= 0.25, "{}: middle needle kept", variant.name());
        assert_eq!(
            score_at(1.0),
            1.0,
            "{}: the window holds the last needles",
            variant.name()
        );
    }
    // Depth 0: the single needle sits at position 0, inside the sink.
    let task = NiahTask::plant(&hay, &NiahSpec::new(NiahVariant::Single, 0.0, 4)).unwrap();
    assert_eq!(
        task.score(&attend(&task.workload, &task.probes(), a_shape))
            .unwrap()
            .retrieval,
        1.0
    );
}

#[test]
fn multi_value_scores_partial_retrieval() {
    let hay = haystack("streaming", 512, 1, 1);
    let mut above = 0;
    for seed in 0..8 {
        let task = NiahTask::plant(&hay, &NiahSpec::new(NiahVariant::MultiValue, 0.5, seed)).unwrap();
        let positions: Vec<usize> = task.needles.iter().map(|n| n.position).collect();
        // Keep two of the four needles (and everything that is not a needle).
        let out = attend(&task.workload, &task.probes(), |_, _, k| !positions[2..].contains(&k));
        let r = task.score(&out).unwrap().retrieval;
        assert!(r >= 0.5, "seed {seed}: the two kept values must be decoded ({r})");
        // The other two answers are decoded from noise and hit a dropped value by
        // chance only (2 of 1022 magic numbers, twice).
        above += usize::from(r > 0.5);
    }
    assert!(above <= 1, "{above} of 8 runs decoded a value they never saw");
}

#[test]
fn niah_parameters_are_checked() {
    let hay = haystack("streaming", 64, 1, 1);
    assert!(NiahVariant::parse("multi-key").is_ok());
    let e = NiahVariant::parse("triple").unwrap_err().to_string();
    assert!(e.contains("single, multikey, multivalue, multiquery"), "{e}");
    let e = NiahTask::plant(&hay, &NiahSpec::new(NiahVariant::Single, 1.5, 0))
        .unwrap_err()
        .to_string();
    assert!(e.contains("depth = 1.5"), "{e}");
    let tiny = haystack("streaming", 20, 1, 1);
    let e = NiahTask::plant(&tiny, &NiahSpec::new(NiahVariant::MultiQuery, 0.5, 0))
        .unwrap_err()
        .to_string();
    assert!(e.contains("seq_len = 20"), "{e}");
}

/// 200 seeds x 3 depths x 4 heads of multi-value at head dim 64, where four random
/// values interfere most (about 20 s; run with
/// `cargo test -p sparselab-workloads stress_multivalue -- --ignored`).
#[test]
#[ignore]
fn stress_multivalue_seeds() {
    let mut worst = 1.0f64;
    for seed in 0..200 {
        let hay = haystack("llama-like", 300, 4, 4);
        for depth in [0.0, 0.5, 1.0] {
            let task = NiahTask::plant(&hay, &NiahSpec::new(NiahVariant::MultiValue, depth, seed)).unwrap();
            let out = attend(&task.workload, &task.probes(), |_, _, _| true);
            let r = task.score(&out).unwrap();
            if r.retrieval < 1.0 {
                eprintln!("seed {seed} depth {depth}: {:?}", r.per_question);
            }
            worst = worst.min(r.retrieval);
        }
    }
    assert_eq!(worst, 1.0);
}
