//! `sparselab run` (and `sparselab` with no arguments): the default study.
//!
//! For each sequence length it builds a `llama-like` synthetic workload, runs every
//! method at its budget ladder on the CPU reference, and reports recall against speed:
//! the FLOP proxy `work_speedup`, the roofline's `predicted_speedup` (`--hardware`,
//! default h100; work counted from the row's real mask, estimation included), the
//! accelerator model's `accel_speedup`, and, when a GPU is present, the
//! `measured_speedup` of our CUDA kernels (see `study::speed`). Each workload's
//! Pareto-optimal rows (recall against measured speedup where present, else predicted)
//! are marked. It prints the table and writes `recall.csv`, `report.md` and a
//! recall-versus-speedup chart per workload (SVG and PNG) into a new run folder.
//! `--shard i/n` runs part of the (workload, method) list; `sparselab merge` joins the
//! parts' `recall.csv`.

use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

use crate::commands::roofline::load_preset;
use crate::output::{write_atomic, write_csv};
use crate::plot::{recall_speedup_scene, write_svg_and_png, ChartPoint, Series};
use crate::provenance::utc_now;
use crate::shard::Shard;
use crate::study::gpu_timing::GpuTimer;
use crate::study::recall::{mark_pareto, progress_bar, recall_table_with, RecallRow};
use crate::study::speed::{SpeedModels, DEFAULT_KERNEL};
use crate::study::table::render_study_table;
use sparselab_kernels::method::{parse_methods, Method};
use sparselab_workloads::synthetic::{generate, SyntheticSpec};

/// Arguments of `sparselab run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Folder for this run's files; default `runs/<date-time>/`.
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
    /// Tokens per workload, comma-separated: one workload per length.
    #[arg(long, value_delimiter = ',', default_value = "2048,4096,8192")]
    pub seq_len: Vec<usize>,
    /// Query heads.
    #[arg(long, default_value_t = 8)]
    pub heads: usize,
    /// Head dimension.
    #[arg(long, default_value_t = 128)]
    pub head_dim: usize,
    /// Synthetic head profile.
    #[arg(long, default_value = "llama-like")]
    pub profile: String,
    /// Methods and budgets; `ladder` (the default) runs every method at two budgets scaled to
    /// `--seq-len` (see [`budget_ladder`]), `all` at the papers' defaults.
    #[arg(long, default_value = "ladder")]
    pub methods: String,
    /// Run only part `i` of `n` of the (workload, method) list (0-based: items i, i+n, ...), e.g. one per
    /// machine or Slurm array task; join the parts' recall.csv with `sparselab merge`, which sets the
    /// Pareto marks. A shard writes no chart.
    #[arg(long, default_value = "0/1", value_parser = Shard::parse)]
    pub shard: Shard,
    /// Roofline GPU preset for `predicted_ms`: a100, h100, h200 or a TOML file.
    #[arg(long, default_value = "h100")]
    pub hardware: String,
    /// Roofline kernel model: sparselab (our CUDA kernels, the ones timed on a GPU), fa2, cudnn,
    /// minference, ...; dense runs the same model (the speedup's baseline).
    #[arg(long, default_value = DEFAULT_KERNEL)]
    pub kernel: String,
    /// Tokens of the MQAR task run under every method's mask at its ladder budgets (task accuracy beside
    /// recall; `tasks.csv`); 0 skips it. Not run by shards.
    #[arg(long, default_value_t = 4096)]
    pub task_len: usize,
    /// Do not time on the GPU even when one is present (speed predicted only).
    #[arg(long)]
    pub no_gpu: bool,
    /// No progress bar (it is drawn only when stderr is a terminal anyway).
    #[arg(long)]
    pub quiet: bool,
}

impl RunArgs {
    /// The arguments `sparselab` runs with when given no subcommand: clap's own
    /// defaults, so the two entry points cannot drift apart.
    pub fn from_defaults() -> Result<Self> {
        use clap::{Args, FromArgMatches};
        let command = Self::augment_args(clap::Command::new("run"));
        let matches = command
            .try_get_matches_from(["run"])
            .context("default arguments of `run`")?;
        Ok(Self::from_arg_matches(&matches)?)
    }
}

/// Shortest sequence the budget ladder is defined for (vertical-slash keeps at
/// least 30 columns and 50 diagonals).
pub const LADDER_MIN_SEQ: usize = 128;

/// Every method at two budgets scaled to `seq_len`, so that the table shows
/// recall against budget at any length (the papers' defaults, such as
/// MInference's 1000 columns + 6096 diagonals, are sized for 100k+ tokens and
/// keep everything at a few thousand). Budgets are about 1/8 and 1/4 of the
/// sequence for window and key budgets and 1/16 and 1/8 of the blocks; the
/// threshold methods run at their papers' two usual thresholds.
pub fn budget_ladder(seq_len: usize) -> String {
    let l = seq_len.max(1);
    let part = |d: usize| (l / d).max(1);
    let blocks = |block: usize, d: usize| (l.div_ceil(block) / d).max(1);
    let sink = 64.min(l);
    [
        "dense".to_string(),
        format!("a-shape:sink={sink},local={}", part(8)),
        format!("a-shape:sink={sink},local={}", part(4)),
        format!("vertical-slash:v={},s={}", part(32).max(30), part(16).max(50)),
        format!("vertical-slash:v={},s={}", part(16).max(30), part(8).max(50)),
        format!("block-topk:k={},block=64", blocks(64, 8)),
        format!("block-topk:k={},block=64", blocks(64, 4)),
        "flexprefill:gamma=0.9,tau=0.1".to_string(),
        "flexprefill:gamma=0.95,tau=0.1".to_string(),
        "xattention:tau=0.9,stride=8".to_string(),
        "xattention:tau=0.95,stride=8".to_string(),
        format!("oracle-blocks:k={},block=64", blocks(64, 8)),
        format!("oracle-blocks:k={},block=64", blocks(64, 4)),
        format!("oracle-keys:k={}", part(16)),
        format!("oracle-keys:k={}", part(8)),
    ]
    .join(",")
}

/// The methods of one workload: the budget ladder of its length, or the user's list.
fn methods_for(args: &RunArgs, seq_len: usize) -> Result<Vec<Box<dyn Method>>> {
    if args.methods != "ladder" {
        return Ok(parse_methods(&args.methods)?);
    }
    if seq_len < LADDER_MIN_SEQ {
        anyhow::bail!(
            "the default budget ladder needs --seq-len >= {LADDER_MIN_SEQ} (got {seq_len}); give --methods explicitly"
        );
    }
    Ok(parse_methods(&budget_ladder(seq_len))?)
}

/// Runs the default study.
pub fn run(args: &RunArgs) -> Result<()> {
    if args.seq_len.is_empty() {
        anyhow::bail!("--seq-len needs at least one length, e.g. 4096 or 2048,4096");
    }
    // The work list: (workload, method) in length order, each item with its unsharded position.
    let mut plan = Vec::new();
    let mut position = 0;
    for &seq_len in &args.seq_len {
        let methods = methods_for(args, seq_len)?;
        let keep: Vec<usize> = (0..methods.len()).filter(|i| args.shard.owns(position + i)).collect();
        plan.push((seq_len, methods, keep, position));
        position += plan.last().map_or(0, |p| p.1.len());
    }
    let out_dir = args
        .out_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("runs").join(utc_now().replace(':', "-")));
    let lengths: Vec<String> = args.seq_len.iter().map(|l| l.to_string()).collect();
    let (preset, _) = load_preset(Some(&args.hardware), "h100", &[])?;
    let hardware = preset.name.clone();
    let (gpu, no_gpu_reason) = if args.no_gpu {
        (None, String::new())
    } else {
        match GpuTimer::open() {
            Ok(gpu) => (Some(gpu), String::new()),
            Err(e) => (None, format!(" ({e:#})")),
        }
    };
    let mut speed = SpeedModels::new(preset, &args.kernel, true, gpu)?;
    eprintln!(
        "sparselab: default study, recall on the CPU ({} profile, {} tokens, {} heads, head dim {}{})",
        args.profile,
        lengths.join(", "),
        args.heads,
        args.head_dim,
        if args.shard.count > 1 {
            format!(", shard {}/{}", args.shard.index, args.shard.count)
        } else {
            String::new()
        }
    );
    let speed_line = match speed.gpu_name() {
        Some(name) => format!(
            "GPU {name}: speed measured with our CUDA kernels where the mask has one, else predicted by the roofline \
             ({hardware} preset) and the accelerator model"
        ),
        None if args.no_gpu => {
            format!("--no-gpu: speed predicted by the roofline ({hardware} preset) and the accelerator model")
        }
        None => format!(
            "no GPU: speed predicted by the roofline ({hardware} preset) and the accelerator model{no_gpu_reason}"
        ),
    };
    eprintln!("{speed_line}");
    let run_task = args.task_len > 0 && args.shard.count == 1;
    let task_methods = if run_task {
        methods_for(args, args.task_len)?
    } else {
        Vec::new()
    };
    let steps: usize = plan
        .iter()
        .filter(|p| !p.2.is_empty())
        .map(|p| p.2.len() + 1)
        .sum::<usize>()
        + task_methods.len();
    let bar = progress_bar(steps, !args.quiet);
    let mut rows: Vec<RecallRow> = Vec::new();
    for (seq_len, methods, keep, first) in &plan {
        if keep.is_empty() {
            continue;
        }
        let spec = SyntheticSpec {
            profile: args.profile.clone(),
            seq_len: *seq_len,
            heads: args.heads,
            kv_heads: args.heads,
            head_dim: args.head_dim,
            seed: 0,
        };
        bar.set_message(format!("building the {seq_len}-token workload"));
        let workload = generate(&spec).with_context(|| format!("building the {seq_len}-token synthetic workload"))?;
        let work: Vec<(usize, &dyn Method)> = keep.iter().map(|&i| (first + i, methods[i].as_ref())).collect();
        rows.extend(recall_table_with(&workload, &work, true, &bar, &mut speed)?);
    }
    let task_rows = if run_task {
        crate::study::tasks::mqar_rows(args.task_len, &task_methods, 0, &bar)?
    } else {
        Vec::new()
    };
    bar.finish_and_clear();
    let sharded = args.shard.count > 1;
    if !sharded {
        mark_pareto(&mut rows);
    }
    let csv_path = out_dir.join("recall.csv");
    write_csv(&csv_path, &rows).with_context(|| format!("writing {}", csv_path.display()))?;
    for note in &speed.notes {
        eprintln!("note: {note}");
    }
    let speed_axis = speed_axis(&rows);
    let mut report = String::from("# sparselab run\n\n");
    let _ = writeln!(report, "{speed_line}.\n");
    let _ = writeln!(
        report,
        "Recall is measured on the CPU reference; density counts executed 64x64 tiles over causal pairs. Every \
         speedup is over dense attention on the same model or device:\n\n\
         - `work speedup`: a proxy, dense attention FLOPs over the method's executed-tile FLOPs plus its estimation \
         FLOPs;\n\
         - `predicted ms` / `predicted speedup`: the roofline ({}) with the work counted from the row's \
         real mask (`work_from_mask`) and the method's estimation FLOPs and bytes included;\n\
         - `accel speedup`: the accelerator model ({}), cycles of QK^T and PV under the mask over the dense mask's \
         (estimation not included; `-` where the mask is too large to simulate quickly);\n\
         - `measured ms` / `measured speedup`: median of {} CUDA-event timings of our kernel on the mask (kernel \
         only), {}.\n\n\
         `pareto` `*`: no other row of the workload has both more recall and more speedup, the speedup being {}.\n",
        speed.describe_roofline(),
        sparselab_simulators::accelerator::DEFAULT_PRESET,
        crate::study::gpu_timing::ITERS,
        match speed.gpu_name() {
            Some(name) => format!("on {name}; `-` where the mask's format has no GPU kernel"),
            None => "`-` throughout: no GPU was used".to_string(),
        },
        speed_axis
    );
    for note in &speed.notes {
        let _ = writeln!(report, "Note: {note}.\n");
    }
    for (name, group) in by_workload(&rows) {
        let table = render_study_table(&group);
        println!("{name}\n{table}\n");
        let _ = writeln!(report, "## {name}\n\n{table}\n");
        if !sharded {
            let stem = format!("recall-vs-speedup-{}", group[0].seq_len);
            write_chart(&out_dir.join(&stem), &name, &group, &speed_axis)?;
            let _ = writeln!(report, "![recall versus speedup]({stem}.svg)\n");
        }
    }
    if sharded {
        let _ = writeln!(
            report,
            "Shard {}/{}: join the shards' recall.csv with `sparselab merge` (it sets the Pareto marks).",
            args.shard.index, args.shard.count
        );
    }
    if !task_rows.is_empty() {
        let tasks_path = out_dir.join("tasks.csv");
        write_csv(&tasks_path, &task_rows).with_context(|| format!("writing {}", tasks_path.display()))?;
        let table = crate::commands::tasks::mqar::render_table(&task_rows);
        let title = format!(
            "MQAR task accuracy | {} tokens, {} key-value pairs, {} sequences (Zoology's task, constructed \
             induction head; accuracy overall and by key-to-query distance)",
            args.task_len,
            (args.task_len / crate::study::tasks::PAIRS_PER_TOKEN).max(1),
            crate::study::tasks::EXAMPLES
        );
        println!("{title}\n{table}\n");
        let _ = writeln!(report, "## {title}\n\n{table}\n");
    }
    write_atomic(&out_dir.join("report.md"), report.as_bytes())?;
    println!(
        "wrote {}{}, report.md{} in {}",
        csv_path.display(),
        if task_rows.is_empty() { "" } else { ", tasks.csv" },
        if sharded { "" } else { " and the charts" },
        out_dir.display()
    );
    Ok(())
}

/// Rows grouped by workload (name and length), in first-seen order, each titled.
fn by_workload(rows: &[RecallRow]) -> Vec<(String, Vec<RecallRow>)> {
    let mut order: Vec<(String, Vec<RecallRow>)> = Vec::new();
    for r in rows {
        let name = format!(
            "{} | {} tokens, {} heads, head dim {}, causal, seed {}",
            r.workload, r.seq_len, r.heads, r.head_dim, r.seed
        );
        match order.iter_mut().find(|(n, _)| *n == name) {
            Some((_, g)) => g.push(r.clone()),
            None => order.push((name, vec![r.clone()])),
        }
    }
    order
}

/// What the Pareto marks' and the charts' speedup is for these rows.
fn speed_axis(rows: &[RecallRow]) -> String {
    let measured = rows.iter().filter(|r| r.speedup_source == "measured").count();
    if measured == 0 {
        "the roofline's predicted speedup".into()
    } else if measured == rows.len() {
        "the measured speedup (GPU)".into()
    } else {
        "the measured speedup (GPU) where the mask has a kernel, else the roofline's predicted speedup".into()
    }
}

/// Writes the recall-versus-speedup chart of one workload's rows as `stem.svg` and `stem.png`; rows
/// without a speedup are left out.
fn write_chart(stem: &Path, title: &str, rows: &[RecallRow], axis: &str) -> Result<()> {
    let mut methods: BTreeMap<usize, Series> = BTreeMap::new();
    let mut names: Vec<&str> = Vec::new();
    for r in rows {
        let Some(speedup) = r.speedup else {
            continue;
        };
        let i = names.iter().position(|n| *n == r.method).unwrap_or_else(|| {
            names.push(&r.method);
            names.len() - 1
        });
        methods
            .entry(i)
            .or_insert_with(|| Series {
                name: r.method.clone(),
                points: Vec::new(),
            })
            .points
            .push(ChartPoint {
                speedup,
                recall: r.recall_mean,
                pareto: r.pareto == Some(true),
            });
    }
    let series: Vec<Series> = methods.into_values().collect();
    let label = format!("speedup over dense: {axis}");
    let scene = recall_speedup_scene(title, &label, &series);
    write_svg_and_png(&scene, stem).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ladder_parses_and_scales_with_length() {
        for seq in [LADDER_MIN_SEQ, 300, 1000, 4096, 131_072] {
            let methods = parse_methods(&budget_ladder(seq)).expect("ladder parses");
            assert_eq!(methods.len(), 15, "seq {seq}");
        }
        assert!(budget_ladder(4096).contains("a-shape:sink=64,local=512"));
        assert!(budget_ladder(131_072).contains("oracle-keys:k=16384"));
    }
}
