//! Round trips through both formats and the errors users see.

use super::*;
use crate::{HeadTensor, SeededRng};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sparselab-io-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn random_workload(heads: usize, kv_heads: usize, seq: usize, dim: usize) -> Workload {
    let mut rng = SeededRng::new(5, 0);
    let mut t = |h: usize, name: &str| {
        let data = (0..h * seq * dim).map(|_| rng.normal() as f32).collect();
        HeadTensor::new(name, h, seq, dim, data).unwrap()
    };
    let (q, k, v) = (t(heads, "q"), t(kv_heads, "k"), t(kv_heads, "v"));
    Workload::new("synthetic:test", 17, q, k, v).unwrap()
}

#[test]
fn safetensors_round_trip_keeps_values_name_and_seed() {
    let dir = scratch("st");
    let w = random_workload(4, 2, 40, 8);
    let file = dir.join("w.safetensors");
    assert_eq!(save_qkv(&w, &file, FileDtype::F32).unwrap(), vec![file.clone()]);
    let back = load_qkv(&file).unwrap();
    assert_eq!((back.name.as_str(), back.seed), ("synthetic:test", 17));
    assert_eq!(back.q(), w.q());
    assert_eq!(back.v(), w.v());
    assert_eq!(back.kv_heads(), 2);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sixteen_bit_saves_are_within_their_rounding() {
    let dir = scratch("half");
    let w = random_workload(2, 2, 16, 8);
    for (dtype, rel) in [(FileDtype::F16, 1.0 / 2048.0), (FileDtype::BF16, 1.0 / 256.0)] {
        for target in [dir.join(format!("{dtype}.safetensors")), dir.join(dtype.name())] {
            save_qkv(&w, &target, dtype).unwrap();
            let back = load_qkv(&target).unwrap();
            for (a, b) in w.k().data().iter().zip(back.k().data()) {
                assert!((a - b).abs() <= rel * a.abs() + 1e-6, "{dtype}: {a} vs {b}");
            }
            assert_ne!(back.k(), w.k(), "{dtype} should round something");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn npy_folder_and_prefix_load_the_same_tensors() {
    let dir = scratch("npy");
    let w = random_workload(2, 1, 12, 4);
    let folder = dir.join("layer0");
    assert_eq!(save_qkv(&w, &folder, FileDtype::F32).unwrap().len(), 3);
    let from_folder = load_qkv(&folder).unwrap();
    assert_eq!(from_folder.q(), w.q());
    assert_eq!(from_folder.name, "file:layer0");
    for n in ["q", "k", "v"] {
        std::fs::copy(folder.join(format!("{n}.npy")), dir.join(format!("run7_{n}.npy"))).unwrap();
    }
    let from_prefix = load_qkv(dir.join("run7_")).unwrap();
    assert_eq!(from_prefix.k(), w.k());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn four_dimensional_bf16_safetensors_from_another_tool() {
    // What `safetensors.torch.save_file({"query": q, "key": k, "value": v})` writes for
    // bf16 tensors of shape [batch=2, heads, seq=6, dim=4] with 4 query and 2 kv heads.
    let shape_q = vec![2usize, 4, 6, 4];
    let shape_kv = vec![2usize, 2, 6, 4];
    let vals = |n: usize| (0..n).map(|i| (i % 7) as f32 - 3.0).collect::<Vec<_>>();
    let bytes: Vec<Vec<u8>> = [&shape_q, &shape_kv, &shape_kv]
        .iter()
        .map(|s| dtype::encode(&vals(s.iter().product()), FileDtype::BF16))
        .collect();
    let views = ["query", "key", "value"]
        .iter()
        .zip([&shape_q, &shape_kv, &shape_kv])
        .zip(&bytes)
        .map(|((n, s), b)| {
            let view = ::safetensors::tensor::TensorView::new(::safetensors::Dtype::BF16, s.to_vec(), b).unwrap();
            (n.to_string(), view)
        });
    let file_bytes = ::safetensors::tensor::serialize(views, None).unwrap();
    let dir = scratch("torch");
    let file = dir.join("attn.safetensors");
    std::fs::write(&file, file_bytes).unwrap();
    let w = load_qkv(&file).unwrap();
    assert_eq!((w.heads(), w.kv_heads(), w.seq_len(), w.head_dim()), (8, 4, 6, 4));
    assert_eq!(w.name, "file:attn");
    assert_eq!(w.kv_head_of(7), 3);
    assert_eq!(w.q().data(), vals(2 * 4 * 6 * 4).as_slice());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn missing_tensor_lists_what_the_file_holds() {
    let dir = scratch("missing");
    let data = dtype::encode(&[1.0; 8], FileDtype::F32);
    let views = ["q", "keys", "v"].map(|n| {
        let view = ::safetensors::tensor::TensorView::new(::safetensors::Dtype::F32, vec![1, 2, 4], &data).unwrap();
        (n.to_string(), view)
    });
    let file = dir.join("x.safetensors");
    std::fs::write(&file, ::safetensors::tensor::serialize(views, None).unwrap()).unwrap();
    let e = load_qkv(&file).unwrap_err().to_string();
    assert!(
        e.contains("x.safetensors") && e.contains("`k`, `K`, `key`") && e.contains("keys, q, v"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn wrong_dtype_and_shape_are_named() {
    let dir = scratch("dtype");
    let ints = vec![0u8; 4 * 8];
    let f32s = dtype::encode(&[0.5; 8], FileDtype::F32);
    let views = [
        ("q", ::safetensors::Dtype::F32, &f32s),
        ("k", ::safetensors::Dtype::I32, &ints),
        ("v", ::safetensors::Dtype::F32, &f32s),
    ]
    .map(|(n, d, b)| {
        (
            n.to_string(),
            ::safetensors::tensor::TensorView::new(d, vec![1, 2, 4], b).unwrap(),
        )
    });
    let file = dir.join("int.safetensors");
    std::fs::write(&file, ::safetensors::tensor::serialize(views, None).unwrap()).unwrap();
    let e = load_qkv(&file).unwrap_err().to_string();
    assert!(
        e.contains("`k`") && e.contains("I32") && e.contains("F32, F16, BF16"),
        "{e}"
    );

    let folder = dir.join("bad");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(
        folder.join("q.npy"),
        npy::npy_bytes(&[2, 8, 4], &[0.1; 64], FileDtype::F32),
    )
    .unwrap();
    std::fs::write(
        folder.join("k.npy"),
        npy::npy_bytes(&[2, 7, 4], &[0.1; 56], FileDtype::F32),
    )
    .unwrap();
    std::fs::write(
        folder.join("v.npy"),
        npy::npy_bytes(&[2, 7, 4], &[0.1; 56], FileDtype::F32),
    )
    .unwrap();
    let e = load_qkv(&folder).unwrap_err().to_string();
    assert!(
        e.contains("`k.npy`") && e.contains("[2, 7, 4]") && e.contains("[H_kv, 8, 4]"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unresolvable_paths_explain_the_conventions() {
    let e = load_qkv("/nonexistent/dir/run_").unwrap_err().to_string();
    assert!(e.contains("run_q.npy") && e.contains("q.npy, k.npy and v.npy"), "{e}");
    let e = load_qkv("/nonexistent/x.safetensors").unwrap_err().to_string();
    assert!(e.contains("cannot read"), "{e}");
}

#[test]
fn nan_in_a_file_is_located() {
    let dir = scratch("nan");
    let mut vals = vec![0.25f32; 2 * 3 * 4];
    vals[13] = f32::NAN;
    std::fs::write(dir.join("q.npy"), npy::npy_bytes(&[2, 3, 4], &vals, FileDtype::F32)).unwrap();
    for n in ["k", "v"] {
        std::fs::write(
            dir.join(format!("{n}.npy")),
            npy::npy_bytes(&[2, 3, 4], &[0.5; 24], FileDtype::F32),
        )
        .unwrap();
    }
    let e = load_qkv(&dir).unwrap_err().to_string();
    assert!(e.contains("head 1, row 0, column 1"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}
