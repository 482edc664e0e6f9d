//! `sparselab bench --mask-dir DIR`: every benchmarked sparse mask written as int32
//! `.npy` arrays plus a `meta.json`, so a Python peer script (scripts/peers/flex_masks.py)
//! times other kernels on the very same masks.
//!
//! One directory per mask, `DIR/<method>_L<seq_len>_<causal|full>[_<n>]/`:
//! - `meta.json`: `format` (`block`, `vertical-slash` or `streaming`), `method`,
//!   `params`, `seq_len`, `heads`, `head_dim`, `causal`, and per format `block`
//!   (tokens per block) or `sink` and `window`;
//! - `block`: `offsets.npy` `[heads * nb + 1]` and `blocks.npy` `[nnz]`: the key
//!   blocks of query block `qb` of head `h` are `blocks[offsets[h*nb+qb] : offsets[h*nb+qb+1]]`
//!   (CSR, sorted; query and key blocks of `block` tokens);
//! - `vertical-slash`: MInference's padded kernel format with 64-row blocks,
//!   `block_count.npy` `[heads, nrb]`, `block_offset.npy` `[heads, nrb, max_blocks]`
//!   (start keys of contiguous 64-key blocks, any offset), `column_count.npy`
//!   `[heads, nrb]`, `column_index.npy` `[heads, nrb, max_columns]` (padding is 0);
//! - `streaming`: no arrays; query q keeps key k when k <= q and (k < sink or q - k < window).

use anyhow::{Context, Result};
use sparselab_kernels::cuda::vertical_slash::VsHostIndex;
use std::path::{Path, PathBuf};

/// Bytes of a little-endian int32 `.npy` (format 1.0) of `shape`.
pub fn npy_i32(shape: &[usize], values: &[i32]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let shape_s = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut header = format!("{{'descr': '<i4', 'fortran_order': False, 'shape': {shape_s}, }}");
    // magic (6) + version (2) + length (2) + header + '\n' is a multiple of 64.
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat(total.div_ceil(64) * 64 - total));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + 4 * values.len());
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// What one mask directory describes besides its arrays.
pub struct MaskMeta<'a> {
    /// Method name, e.g. `block-topk`.
    pub method: &'a str,
    /// Its parameters as in the CSV.
    pub params: &'a str,
    /// Tokens.
    pub seq_len: usize,
    /// Query heads.
    pub heads: usize,
    /// Head dimension.
    pub head_dim: usize,
    /// Causal masking.
    pub causal: bool,
}

/// Writes masks under one root, naming each directory uniquely.
pub struct MaskWriter {
    root: PathBuf,
    written: usize,
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

impl MaskWriter {
    /// Creates `root` when missing.
    pub fn new(root: &Path) -> Result<Self> {
        std::fs::create_dir_all(root).with_context(|| format!("creating --mask-dir {}", root.display()))?;
        Ok(Self {
            root: root.to_path_buf(),
            written: 0,
        })
    }

    fn dir(&mut self, m: &MaskMeta<'_>, format: &str, extra: &str) -> Result<PathBuf> {
        self.written += 1;
        let kind = if m.causal { "causal" } else { "full" };
        let dir = self
            .root
            .join(format!("{}_L{}_{kind}_{}", m.method, m.seq_len, self.written));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let meta = format!(
            "{{\"format\": \"{format}\", \"method\": \"{}\", \"params\": \"{}\", \"seq_len\": {}, \"heads\": {}, \
             \"head_dim\": {}, \"causal\": {}{extra}}}\n",
            m.method, m.params, m.seq_len, m.heads, m.head_dim, m.causal
        );
        write(&dir.join("meta.json"), meta.as_bytes())?;
        Ok(dir)
    }

    /// A block mask in CSR form (`offsets` `[heads * nb + 1]`, `blocks`).
    pub fn block(&mut self, m: &MaskMeta<'_>, block: usize, offsets: &[u32], blocks: &[u32]) -> Result<PathBuf> {
        let dir = self.dir(m, "block", &format!(", \"block\": {block}"))?;
        let to_i32 = |x: &[u32]| x.iter().map(|&v| v as i32).collect::<Vec<_>>();
        write(&dir.join("offsets.npy"), &npy_i32(&[offsets.len()], &to_i32(offsets)))?;
        write(&dir.join("blocks.npy"), &npy_i32(&[blocks.len()], &to_i32(blocks)))?;
        Ok(dir)
    }

    /// A vertical-slash index, written in MInference's padded layout.
    pub fn vertical_slash(&mut self, m: &MaskMeta<'_>, idx: &VsHostIndex) -> Result<PathBuf> {
        let dir = self.dir(m, "vertical-slash", ", \"block\": 64")?;
        let nrb = m.seq_len.div_ceil(64);
        let pad = |start: &[i32], count: &[i32], data: &[i32]| {
            let width = count.iter().copied().max().unwrap_or(0).max(1) as usize;
            let mut out = vec![0i32; start.len() * width];
            for (row, (&s, &c)) in start.iter().zip(count).enumerate() {
                let (s, c) = (s as usize, c as usize);
                out[row * width..row * width + c].copy_from_slice(&data[s..s + c]);
            }
            (width, out)
        };
        let (wb, blocks) = pad(&idx.blk_start, &idx.blk_count, &idx.blocks);
        let (wc, cols) = pad(&idx.col_start, &idx.col_count, &idx.cols);
        write(&dir.join("block_count.npy"), &npy_i32(&[m.heads, nrb], &idx.blk_count))?;
        write(&dir.join("block_offset.npy"), &npy_i32(&[m.heads, nrb, wb], &blocks))?;
        write(&dir.join("column_count.npy"), &npy_i32(&[m.heads, nrb], &idx.col_count))?;
        write(&dir.join("column_index.npy"), &npy_i32(&[m.heads, nrb, wc], &cols))?;
        Ok(dir)
    }

    /// A streaming (sink + window) mask.
    pub fn streaming(&mut self, m: &MaskMeta<'_>, sink: usize, window: usize) -> Result<PathBuf> {
        self.dir(m, "streaming", &format!(", \"sink\": {sink}, \"window\": {window}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_header_is_aligned_and_describes_the_array() {
        let b = npy_i32(&[2, 3], &[1, 2, 3, 4, 5, -6]);
        assert_eq!(&b[..8], b"\x93NUMPY\x01\x00");
        let hlen = u16::from_le_bytes([b[8], b[9]]) as usize;
        assert_eq!((10 + hlen) % 64, 0);
        let header = std::str::from_utf8(&b[10..10 + hlen]).unwrap();
        assert!(
            header.contains("'descr': '<i4'") && header.contains("'shape': (2, 3)"),
            "{header}"
        );
        assert!(header.ends_with('\n'));
        assert_eq!(b.len(), 10 + hlen + 24);
        assert_eq!(&b[b.len() - 4..], &(-6i32).to_le_bytes());
        let one = npy_i32(&[1], &[7]);
        assert!(
            one.windows(4).any(|w| w == b"(1,)"),
            "a 1-d shape needs the trailing comma"
        );
    }

    #[test]
    fn vertical_slash_is_padded_per_row() {
        let dir = std::env::temp_dir().join(format!("sparselab-masks-{}", std::process::id()));
        let mut w = MaskWriter::new(&dir).unwrap();
        let idx = VsHostIndex {
            blk_start: vec![0, 1],
            blk_count: vec![1, 2],
            blocks: vec![0, 10, 74],
            col_start: vec![0, 0],
            col_count: vec![0, 1],
            cols: vec![5],
        };
        let meta = MaskMeta {
            method: "vertical-slash",
            params: "v=1,s=1",
            seq_len: 128,
            heads: 1,
            head_dim: 64,
            causal: true,
        };
        let d = w.vertical_slash(&meta, &idx).unwrap();
        let bytes = std::fs::read(d.join("block_offset.npy")).unwrap();
        let hlen = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        let vals: Vec<i32> = bytes[10 + hlen..]
            .chunks(4)
            .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        assert_eq!(vals, vec![0, 0, 10, 74]); // [1 head, 2 row blocks, width 2]
        let meta_s = std::fs::read_to_string(d.join("meta.json")).unwrap();
        assert!(meta_s.contains("\"format\": \"vertical-slash\""), "{meta_s}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
