//! `sparselab workloads`: save generated workloads as files other tools can run,
//! and check users' own files before a long run.

use anyhow::{Context, Result};
use sparselab_workloads::io::{load_qkv, save_qkv, FileDtype};
use sparselab_workloads::synthetic::{generate, profile_names};
use sparselab_workloads::tasks::{MqarConfig, MqarSolver, MqarTask, NiahSpec, NiahTask, NiahVariant};
use sparselab_workloads::{HeadTensor, Workload};
use std::path::PathBuf;

use crate::synthetic_args::SyntheticArgs;

/// Arguments of `sparselab workloads`.
#[derive(Debug, clap::Args)]
pub struct WorkloadsArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: WorkloadsAction,
}

/// The actions.
#[derive(Debug, clap::Subcommand)]
pub enum WorkloadsAction {
    /// Generate a workload and save Q, K, V (`.safetensors` file, or a folder of q.npy, k.npy, v.npy).
    Save(SaveArgs),
    /// Load Q, K, V from a file (as `recall --from-file` would) and print their shapes and statistics.
    Inspect(InspectArgs),
    /// List the synthetic head profiles.
    Profiles,
}

/// Which generator `save` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SaveKind {
    /// A synthetic workload of `--profile`.
    Synthetic,
    /// MQAR sequences under the constructed solver (`--heads` examples of `--kv-pairs` pairs).
    Mqar,
    /// A synthetic haystack of `--profile` with needles planted (`--variant`, `--depth`).
    Niah,
    /// Q, K, V loaded from `--from-file` (to convert a file's format or dtype).
    File,
}

/// Arguments of `sparselab workloads save`.
#[derive(Debug, clap::Args)]
pub struct SaveArgs {
    /// Output: `F.safetensors` (tensors q, k, v) or a folder (q.npy, k.npy, v.npy).
    #[arg(long)]
    pub out: PathBuf,
    /// What to generate.
    #[arg(long, value_enum, default_value_t = SaveKind::Synthetic)]
    pub kind: SaveKind,
    /// The synthetic workload or haystack (for MQAR, `--heads` is the number of examples).
    #[command(flatten)]
    pub workload: SyntheticArgs,
    /// MQAR key-value pairs per sequence.
    #[arg(long, default_value_t = 64)]
    pub kv_pairs: usize,
    /// NIAH variant: single, multikey, multivalue, multiquery.
    #[arg(long, default_value = "single")]
    pub variant: String,
    /// NIAH depth of the first needle, percent of the context.
    #[arg(long, default_value_t = 50.0)]
    pub depth: f64,
    /// With `--kind file`: the `.safetensors` file, npy folder or npy prefix to convert.
    #[arg(long)]
    pub from_file: Option<PathBuf>,
    /// Element type in the file: f32, f16 or bf16.
    #[arg(long, default_value = "f32")]
    pub dtype: String,
}

/// Arguments of `sparselab workloads inspect`.
#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// `F.safetensors`, a folder with q.npy, k.npy, v.npy, or a prefix P of Pq.npy, Pk.npy, Pv.npy.
    pub path: PathBuf,
}

/// Runs the chosen action.
pub fn run(args: &WorkloadsArgs) -> Result<()> {
    match &args.action {
        WorkloadsAction::Save(a) => save(a),
        WorkloadsAction::Inspect(a) => inspect(a),
        WorkloadsAction::Profiles => {
            for name in profile_names() {
                println!("{name}");
            }
            Ok(())
        }
    }
}

fn build(a: &SaveArgs) -> Result<Workload> {
    let synthetic = || generate(&a.workload.spec()).context("generating the synthetic workload");
    Ok(match a.kind {
        SaveKind::Synthetic => synthetic()?,
        SaveKind::File => {
            let path = a.from_file.as_ref().context("--kind file needs --from-file PATH")?;
            load_qkv(path).with_context(|| format!("loading {}", path.display()))?
        }
        SaveKind::Mqar => {
            let solver = MqarSolver {
                head_dim: a.workload.head_dim,
                ..MqarSolver::default()
            };
            let (seq_len, examples, seed) = (a.workload.seq_len, a.workload.heads, a.workload.seed);
            MqarTask::build(&MqarConfig::new(seq_len, a.kv_pairs), examples, &solver, seed)
                .context("building the MQAR task")?
                .workload
        }
        SaveKind::Niah => {
            anyhow::ensure!(
                (0.0..=100.0).contains(&a.depth),
                "--depth {} is not a percent in [0, 100]",
                a.depth
            );
            let spec = NiahSpec::new(NiahVariant::parse(&a.variant)?, a.depth / 100.0, a.workload.seed);
            NiahTask::plant(&synthetic()?, &spec)
                .context("planting the needles")?
                .workload
        }
    })
}

fn save(a: &SaveArgs) -> Result<()> {
    let dtype = FileDtype::parse_save(&a.dtype)
        .with_context(|| format!("--dtype `{}` is not supported; use f32, f16 or bf16", a.dtype))?;
    let w = build(a)?;
    let files = save_qkv(&w, &a.out, dtype).with_context(|| format!("saving to {}", a.out.display()))?;
    println!(
        "{} | Q [{}, {}, {}], K/V [{}, {}, {}], {dtype}, seed {}",
        w.name,
        w.heads(),
        w.seq_len(),
        w.head_dim(),
        w.kv_heads(),
        w.seq_len(),
        w.head_dim(),
        w.seed
    );
    for f in files {
        let bytes = std::fs::metadata(&f).map(|m| m.len()).unwrap_or(0) as f64;
        let size = if bytes >= (1 << 20) as f64 {
            format!("{:.1} MiB", bytes / (1 << 20) as f64)
        } else {
            format!("{:.1} KiB", bytes / 1024.0)
        };
        println!("wrote {} ({size})", f.display());
    }
    Ok(())
}

fn inspect(a: &InspectArgs) -> Result<()> {
    let w = load_qkv(&a.path).with_context(|| format!("loading {}", a.path.display()))?;
    println!(
        "{} | {} tokens, {} query heads, {} kv heads (groups of {}), head dim {}, seed {}",
        w.name,
        w.seq_len(),
        w.heads(),
        w.kv_heads(),
        w.heads() / w.kv_heads(),
        w.head_dim(),
        w.seed
    );
    for (name, t) in [("Q", w.q()), ("K", w.k()), ("V", w.v())] {
        let (mean_norm, max_abs) = stats(t);
        println!(
            "{name} [{}, {}, {}]: mean row norm {mean_norm:.3}, max |x| {max_abs:.3}",
            t.heads(),
            t.seq(),
            t.dim()
        );
    }
    Ok(())
}

/// Mean L2 norm of the rows and the largest absolute entry.
fn stats(t: &HeadTensor) -> (f64, f64) {
    let rows = t.heads() * t.seq();
    let norm_sum: f64 = t
        .data()
        .chunks_exact(t.dim())
        .map(|r| r.iter().map(|&x| x as f64 * x as f64).sum::<f64>().sqrt())
        .sum();
    let max_abs = t.data().iter().fold(0.0f64, |m, &x| m.max((x as f64).abs()));
    (norm_sum / rows.max(1) as f64, max_abs)
}
