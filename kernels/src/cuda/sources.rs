//! The CUDA sources, embedded at build time, and their header expansion.

use super::elem::ElemType;

/// Headers the kernels include by name (`#include "name"`), inlined before compilation.
const HEADERS: &[(&str, &str)] = &[
    ("attention_common.cuh", include_str!("../../cuda/attention_common.cuh")),
    ("attention_wgmma.cuh", include_str!("../../cuda/attention_wgmma.cuh")),
    ("attention_ws.cuh", include_str!("../../cuda/attention_ws.cuh")),
];

/// One `.cu` file of `kernels/cuda/`.
#[derive(Debug, Clone, Copy)]
pub struct KernelSource {
    /// File name, used in compiler messages and cache file names.
    pub name: &'static str,
    /// Source text as written (includes not yet expanded).
    pub text: &'static str,
    /// The element type the source is compiled for (a module per type).
    pub elem: ElemType,
}

/// The attention forward kernels (dense and block-sparse).
pub const ATTENTION: KernelSource = KernelSource {
    name: "attention.cu",
    text: include_str!("../../cuda/attention.cu"),
    elem: ElemType::Bf16,
};

/// The vertical-slash attention forward kernel (MInference's format).
pub const VERTICAL_SLASH: KernelSource = KernelSource {
    name: "vertical_slash.cu",
    text: include_str!("../../cuda/vertical_slash.cu"),
    elem: ElemType::Bf16,
};

/// The streaming (sink + window) attention forward kernel.
pub const STREAMING: KernelSource = KernelSource {
    name: "streaming.cu",
    text: include_str!("../../cuda/streaming.cu"),
    elem: ElemType::Bf16,
};

/// Index building: vertical-slash estimation and conversion, pooled block top-k.
pub const INDEX: KernelSource = KernelSource {
    name: "index.cu",
    text: include_str!("../../cuda/index.cu"),
    elem: ElemType::Bf16,
};

/// Every kernel source (bf16; [`KernelSource::with_elem`] gives the fp16 build); CI
/// compiles each of them for sm_90a in both types.
pub const SOURCES: &[KernelSource] = &[ATTENTION, VERTICAL_SLASH, STREAMING, INDEX];

impl KernelSource {
    /// This source compiled for `elem`.
    pub const fn with_elem(self, elem: ElemType) -> Self {
        Self { elem, ..self }
    }

    /// The NVRTC options of the source beyond the architecture and the base options
    /// (the element type's define).
    pub fn defines(&self) -> Vec<String> {
        self.elem.define().into_iter().map(str::to_string).collect()
    }

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
