//! Tensor-memory-accelerator (TMA) descriptors for the persistent attention kernels
//! (`kernels/cuda/attention_ws.cuh`): one per Q, K and V tensor, encoded by the driver
//! and passed by value as `__grid_constant__` kernel parameters.

use super::device::driver_err;
use crate::error::Result;
use cudarc::driver::{sys, DeviceRepr};

/// A `CUtensorMap`: the driver's opaque 128-byte descriptor, 64-byte aligned, in the
/// layout of the kernels' `sl::TmaMap`.
#[repr(C, align(64))]
#[derive(Clone, Copy)]
pub struct TmaMap {
    opaque: [u64; 16],
}

// SAFETY: plain bytes with the size and alignment of the kernel parameter type `sl::TmaMap`.
unsafe impl DeviceRepr for TmaMap {}

impl std::fmt::Debug for TmaMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TmaMap(..)")
    }
}

/// Columns of one box: 64 16-bit elements, the 128-byte span of the wgmma swizzle.
pub const BOX_COLS: u32 = 64;

/// The descriptor of a `[heads, seq_len, head_dim]` tensor of 16-bit elements at device
/// address `ptr`, read in boxes of `box_rows` rows x 64 columns of one head with the
/// 128-byte swizzle; rows past `seq_len` read as zeros (the kernels' ragged tails).
pub fn encode_rows(
    ptr: sys::CUdeviceptr,
    heads: usize,
    seq_len: usize,
    head_dim: usize,
    box_rows: u32,
) -> Result<TmaMap> {
    let dims: [u64; 3] = [head_dim as u64, seq_len as u64, heads as u64];
    // Byte strides of dimensions 1 and 2 (dimension 0 is contiguous).
    let strides: [u64; 2] = [(head_dim * 2) as u64, (seq_len * head_dim * 2) as u64];
    let boxes: [u32; 3] = [BOX_COLS, box_rows, 1];
    let element_strides: [u32; 3] = [1, 1, 1];
    let mut map = sys::CUtensorMap { opaque: [0; 16] };
    // SAFETY: every array has the rank's length (3, strides 2); `ptr` is a live device
    // allocation of heads * seq_len * head_dim elements owned by the caller, which keeps
    // it alive while the descriptor is used.
    unsafe {
        sys::cuTensorMapEncodeTiled(
            &mut map,
            sys::CUtensorMapDataType::CU_TENSOR_MAP_DATA_TYPE_UINT16,
            3,
            ptr as *mut std::ffi::c_void,
            dims.as_ptr(),
            strides.as_ptr(),
            boxes.as_ptr(),
            element_strides.as_ptr(),
            sys::CUtensorMapInterleave::CU_TENSOR_MAP_INTERLEAVE_NONE,
            sys::CUtensorMapSwizzle::CU_TENSOR_MAP_SWIZZLE_128B,
            sys::CUtensorMapL2promotion::CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
            sys::CUtensorMapFloatOOBfill::CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE,
        )
        .result()
        .map_err(driver_err("cuTensorMapEncodeTiled"))?;
    }
    Ok(TmaMap { opaque: map.opaque })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptor_matches_the_kernel_parameter() {
        assert_eq!(std::mem::size_of::<TmaMap>(), 128);
        assert_eq!(std::mem::align_of::<TmaMap>(), 64);
    }
}
