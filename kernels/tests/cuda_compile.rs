//! Compiles every CUDA kernel source with NVRTC for sm_90a, in bf16 and fp16, and
//! prints each kernel's registers and spills. Needs libnvrtc (CUDA toolkit, or the PyPI wheel
//! `nvidia-cuda-nvrtc` with its `nvidia/cu13/lib` on LD_LIBRARY_PATH; .ci/run sets
//! this up); without it the test prints "skipping: ..." and passes, unless
//! SPARSELAB_REQUIRE_NVRTC is set (CI). No GPU needed.

use sparselab_kernels::cuda::{compile_cubin, nvrtc_available, ElemType, KernelSource, SOURCES};

#[test]
fn every_kernel_compiles_for_sm_90a() {
    if let Err(e) = nvrtc_available() {
        // CI sets this after installing NVRTC, so a broken install fails instead of skipping.
        assert!(
            std::env::var_os("SPARSELAB_REQUIRE_NVRTC").is_none(),
            "SPARSELAB_REQUIRE_NVRTC is set but {e}"
        );
        eprintln!("skipping: {e}");
        return;
    }
    let sources: Vec<KernelSource> = ElemType::ALL
        .into_iter()
        .flat_map(|e| SOURCES.iter().map(move |s| s.with_elem(e)))
        .collect();
    // One thread per source (NVRTC compiles separate programs concurrently); reports in order.
    let results: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = sources
            .iter()
            .map(|src| scope.spawn(move || compile_cubin(src, "sm_90a")))
            .collect();
        handles.into_iter().map(|h| h.join().expect("compile thread")).collect()
    });
    for (src, result) in sources.iter().zip(results) {
        let compiled = result.unwrap_or_else(|e| panic!("{e}"));
        assert!(
            compiled.cubin.len() > 1000,
            "{} ({}): CUBIN of {} bytes",
            src.name,
            src.elem,
            compiled.cubin.len()
        );
        assert_eq!(
            &compiled.cubin[..4],
            b"\x7fELF",
            "{} ({}): CUBIN is not an ELF image",
            src.name,
            src.elem
        );
        eprintln!("{} ({}) for sm_90a: {} bytes", src.name, src.elem, compiled.cubin.len());
        for line in compiled.resource_lines() {
            eprintln!("  {line}");
        }
        let spills: Vec<&str> = compiled
            .resource_lines()
            .into_iter()
            .filter(|l| l.contains("spill stores") && !l.contains(" 0 bytes spill stores"))
            .collect();
        if !spills.is_empty() {
            eprintln!("warning: {} kernels spill registers", spills.len());
        }
    }
}

#[test]
fn a_broken_source_reports_options_and_log() {
    if nvrtc_available().is_err() {
        eprintln!("skipping: no NVRTC");
        return;
    }
    let bad = sparselab_kernels::cuda::KernelSource {
        name: "broken.cu",
        text: "extern \"C\" __global__ void k() { this_is_not_defined(); }\n",
        elem: ElemType::Bf16,
    };
    let e = compile_cubin(&bad, "sm_90a").unwrap_err().to_string();
    assert!(
        e.contains("broken.cu") && e.contains("--gpu-architecture=sm_90a"),
        "{e}"
    );
    assert!(e.contains("this_is_not_defined"), "{e}");
}
