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
