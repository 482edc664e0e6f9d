//! NVRTC: CUDA C++ to a CUBIN for one architecture, with an on-disk cache keyed by
//! (source hash, architecture, options).
//!
//! cudarc's safe NVRTC API returns PTX only; a CUBIN needs `nvrtcGetCUBIN`, so this
//! module calls NVRTC's C functions through `cudarc::nvrtc::sys`.

use super::sources::KernelSource;
use crate::error::{KernelError, Result};
use cudarc::nvrtc::sys;
use std::ffi::{c_char, CString};
use std::path::{Path, PathBuf};

/// Options every kernel is compiled with, besides the architecture.
pub const BASE_OPTIONS: &[&str] = &["-std=c++17", "--use_fast_math", "-Xptxas=-v"];

/// Environment variable naming the CUBIN cache directory.
pub const CACHE_ENV: &str = "SPARSELAB_CUDA_CACHE";

/// A compiled kernel file.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// Machine code for the requested architecture.
    pub cubin: Vec<u8>,
    /// NVRTC's log, one entry per line (with `-Xptxas=-v`: registers, spills, stack per kernel).
    pub log: Vec<String>,
}

impl Compiled {
    /// The log lines that report per-kernel resources (entry names, registers, spills, stack).
    pub fn resource_lines(&self) -> Vec<&str> {
        self.log
            .iter()
            .map(String::as_str)
            .filter(|l| l.contains("Compiling entry") || l.contains("registers") || l.contains("spill"))
            .collect()
    }
}

/// Ok when the NVRTC library can be loaded; otherwise says what to install.
pub fn nvrtc_available() -> Result<()> {
    // SAFETY: only tries to dlopen the library by its usual names.
    if unsafe { sys::is_culib_present() } {
        Ok(())
    } else {
        Err(KernelError::CudaUnavailable {
            what: "NVRTC library (libnvrtc)",
            detail: "install the CUDA toolkit, or `pip install nvidia-cuda-nvrtc==13.0.88` and put its \
                     nvidia/cu13/lib on LD_LIBRARY_PATH"
                .to_string(),
        })
    }
}

/// NVRTC's version as (major, minor), e.g. (13, 0).
pub fn nvrtc_version() -> Result<(i32, i32)> {
    nvrtc_available()?;
    let (mut major, mut minor) = (0, 0);
    // SAFETY: the library is present; writes two ints.
    check("nvrtcVersion", unsafe { sys::nvrtcVersion(&mut major, &mut minor) })?;
    Ok((major, minor))
}

/// The options of `source` for `arch` (e.g. `sm_90a`): `--gpu-architecture=<arch>`,
/// [`BASE_OPTIONS`], then the source's defines (its element type).
pub fn options_for(source: &KernelSource, arch: &str) -> Vec<String> {
    let mut opts = vec![format!("--gpu-architecture={arch}")];
    opts.extend(BASE_OPTIONS.iter().map(|s| s.to_string()));
    opts.extend(source.defines());
    opts
}

fn nvrtc_err(call: &str, code: sys::nvrtcResult) -> KernelError {
    KernelError::Cuda {
        call: call.to_string(),
        detail: format!("{code:?}"),
    }
}

fn check(call: &str, code: sys::nvrtcResult) -> Result<()> {
    if code == sys::nvrtcResult::NVRTC_SUCCESS {
        Ok(())
    } else {
        Err(nvrtc_err(call, code))
    }
}

/// Owns an `nvrtcProgram` and destroys it on drop.
struct Program(sys::nvrtcProgram);

impl Drop for Program {
    fn drop(&mut self) {
        // SAFETY: the handle came from nvrtcCreateProgram and is destroyed once.
        unsafe {
            let _ = sys::nvrtcDestroyProgram(&mut self.0);
        }
    }
}

fn cstring(what: &str, s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| KernelError::Cuda {
        call: "nvrtcCreateProgram".to_string(),
        detail: format!("{what} contains a NUL byte"),
    })
}

fn program_log(prog: &Program) -> Result<Vec<String>> {
    let mut size = 0usize;
    // SAFETY: valid program; the buffer has the size NVRTC reported.
    unsafe {
        check("nvrtcGetProgramLogSize", sys::nvrtcGetProgramLogSize(prog.0, &mut size))?;
        let mut buf = vec![0u8; size.max(1)];
        check(
            "nvrtcGetProgramLog",
            sys::nvrtcGetProgramLog(prog.0, buf.as_mut_ptr() as *mut c_char),
        )?;
        let text = String::from_utf8_lossy(&buf);
        Ok(text
            .trim_end_matches('\0')
            .lines()
            .map(str::trim_end)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect())
    }
}

/// Compiles `source` for `arch` (e.g. `sm_90a`) to a CUBIN. A rejected source
/// gives [`KernelError::Compile`] with the options and the log line by line.
pub fn compile_cubin(source: &KernelSource, arch: &str) -> Result<Compiled> {
    nvrtc_available()?;
    let options = options_for(source, arch);
    let text = cstring("kernel source", &source.expanded())?;
    let name = cstring("kernel name", source.name)?;
    let c_opts = options
        .iter()
        .map(|o| cstring("option", o))
        .collect::<Result<Vec<_>>>()?;
    let opt_ptrs: Vec<*const c_char> = c_opts.iter().map(|c| c.as_ptr()).collect();
    let mut raw = std::ptr::null_mut();
    // SAFETY: pointers are valid NUL-terminated strings that outlive the calls; the
    // program is destroyed by `Program`'s drop.
    unsafe {
        check(
            "nvrtcCreateProgram",
            sys::nvrtcCreateProgram(
                &mut raw,
                text.as_ptr(),
                name.as_ptr(),
                0,
                std::ptr::null(),
                std::ptr::null(),
            ),
        )?;
        let prog = Program(raw);
        let code = sys::nvrtcCompileProgram(prog.0, opt_ptrs.len() as i32, opt_ptrs.as_ptr());
        let log = program_log(&prog)?;
        if code != sys::nvrtcResult::NVRTC_SUCCESS {
            return Err(KernelError::Compile {
                source_name: source.name.to_string(),
                options,
                log,
            });
        }
        let mut size = 0usize;
        check("nvrtcGetCUBINSize", sys::nvrtcGetCUBINSize(prog.0, &mut size))?;
        let mut cubin = vec![0u8; size];
        check(
            "nvrtcGetCUBIN",
            sys::nvrtcGetCUBIN(prog.0, cubin.as_mut_ptr() as *mut c_char),
        )?;
        Ok(Compiled { cubin, log })
    }
}

/// FNV-1a, 64 bits: a stable hash for cache keys (std's hasher is not stable across releases).
pub fn fnv1a(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0xff)) {
            h ^= b as u64;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// The cache directory: `$SPARSELAB_CUDA_CACHE`, else `$XDG_CACHE_HOME/sparselab/cubin`,
/// else `$HOME/.cache/sparselab/cubin`, else the system temp dir.
pub fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os(CACHE_ENV) {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(d).join("sparselab").join("cubin");
    }
    if let Some(d) = std::env::var_os("HOME") {
        return PathBuf::from(d).join(".cache").join("sparselab").join("cubin");
    }
    std::env::temp_dir().join("sparselab-cubin")
}

/// The cache file of `source` compiled for `arch` under `dir`.
pub fn cache_path(dir: &Path, source: &KernelSource, arch: &str) -> PathBuf {
    let options = options_for(source, arch);
    let expanded = source.expanded();
    let mut parts = vec![expanded.as_str(), arch];
    parts.extend(options.iter().map(String::as_str));
    let stem = source.name.trim_end_matches(".cu");
    let elem = source.elem.name();
    dir.join(format!("{stem}-{elem}-{arch}-{:016x}.cubin", fnv1a(&parts)))
}

/// The CUBIN of `source` for `arch`, from the cache when present, else compiled and
/// stored (written to a temporary file and renamed, so readers never see half a file).
/// A cache that cannot be written is not an error: the CUBIN is still returned.
pub fn cached_cubin(source: &KernelSource, arch: &str) -> Result<Vec<u8>> {
    let dir = cache_dir();
    let path = cache_path(&dir, source, arch);
    if let Ok(bytes) = std::fs::read(&path) {
        if !bytes.is_empty() {
            return Ok(bytes);
        }
    }
    let compiled = compile_cubin(source, arch)?;
    if std::fs::create_dir_all(&dir).is_ok() {
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        if std::fs::write(&tmp, &compiled.cubin).is_ok() {
            let _ = std::fs::rename(&tmp, &path);
        }
    }
    Ok(compiled.cubin)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cuda::elem::ElemType;
    use crate::cuda::sources::ATTENTION;

    #[test]
    fn cache_key_depends_on_arch() {
        let d = Path::new("/c");
        let a = cache_path(d, &ATTENTION, "sm_90a");
        let b = cache_path(d, &ATTENTION, "sm_80");
        assert_ne!(a, b);
        assert_eq!(a, cache_path(d, &ATTENTION, "sm_90a"));
        assert!(a.to_string_lossy().contains("attention-bf16-sm_90a-"));
        let f = cache_path(d, &ATTENTION.with_elem(ElemType::F16), "sm_90a");
        assert_ne!(a, f);
        assert!(f.to_string_lossy().contains("attention-fp16-sm_90a-"));
    }

    #[test]
    fn fnv_separates_parts() {
        assert_ne!(fnv1a(&["ab", "c"]), fnv1a(&["a", "bc"]));
    }

    #[test]
    fn options_start_with_the_arch() {
        let o = options_for(&ATTENTION, "sm_90a");
        assert_eq!(o[0], "--gpu-architecture=sm_90a");
        assert!(o.iter().any(|s| s == "-Xptxas=-v"));
        assert!(!o.iter().any(|s| s.starts_with("-D")));
        let o = options_for(&ATTENTION.with_elem(ElemType::F16), "sm_90a");
        assert_eq!(o.last().map(String::as_str), Some("-DSL_F16"));
    }
}
