//! The CUDA sources, embedded at build time, and their header expansion.

/// Headers the kernels include by name (`#include "name"`), inlined before compilation.
const HEADERS: &[(&str, &str)] = &[
    ("attention_common.cuh", include_str!("../../cuda/attention_common.cuh")),
    ("attention_wgmma.cuh", include_str!("../../cuda/attention_wgmma.cuh")),
];

/// One `.cu` file of `kernels/cuda/`.
#[derive(Debug, Clone, Copy)]
pub struct KernelSource {
    /// File name, used in compiler messages and cache file names.
    pub name: &'static str,
    /// Source text as written (includes not yet expanded).
    pub text: &'static str,
}

/// The attention forward kernels (dense and block-sparse).
pub const ATTENTION: KernelSource = KernelSource {
    name: "attention.cu",
    text: include_str!("../../cuda/attention.cu"),
};

/// The vertical-slash attention forward kernel (MInference's format).
pub const VERTICAL_SLASH: KernelSource = KernelSource {
    name: "vertical_slash.cu",
    text: include_str!("../../cuda/vertical_slash.cu"),
};

/// The streaming (sink + window) attention forward kernel.
pub const STREAMING: KernelSource = KernelSource {
    name: "streaming.cu",
    text: include_str!("../../cuda/streaming.cu"),
};

/// Index building: vertical-slash estimation and conversion, pooled block top-k.
pub const INDEX: KernelSource = KernelSource {
    name: "index.cu",
    text: include_str!("../../cuda/index.cu"),
};

/// Every kernel source; CI compiles each of them for sm_90a.
pub const SOURCES: &[KernelSource] = &[ATTENTION, VERTICAL_SLASH, STREAMING, INDEX];

impl KernelSource {
    /// The source with each `#include "header"` of [`HEADERS`] replaced by the
    /// header's text (and its `#pragma once` dropped), so NVRTC needs no include path.
    pub fn expanded(&self) -> String {
        let mut out = String::with_capacity(self.text.len() * 2);
        for line in self.text.lines() {
            let header = line
                .trim()
                .strip_prefix("#include \"")
                .and_then(|rest| rest.strip_suffix('"'))
                .and_then(|name| HEADERS.iter().find(|(n, _)| *n == name));
            match header {
                Some((name, text)) => {
                    out.push_str(&format!("// ---- begin {name}\n"));
                    for hl in text.lines().filter(|l| l.trim() != "#pragma once") {
                        out.push_str(hl);
                        out.push('\n');
                    }
                    out.push_str(&format!("// ---- end {name}\n"));
                }
                None => {
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansion_inlines_the_common_header() {
        let src = ATTENTION.expanded();
        assert!(!src.contains("#include \"attention_common.cuh\""));
        assert!(src.contains("attn_fwd_tiles"));
        assert!(!src.contains("#pragma once"));
    }
}
