//! [`Gpu`]: one CUDA device, its stream, and the kernel modules loaded on it.

use super::compile::{cached_cubin, nvrtc_available};
use super::elem::ElemType;
use super::sources::KernelSource;
use crate::error::{KernelError, Result};
use cudarc::driver::{sys, CudaContext, CudaFunction, CudaModule, CudaStream, DriverError};
use cudarc::nvrtc::Ptx;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Maps a driver error to [`KernelError::Cuda`] naming the call.
pub(crate) fn driver_err(call: &str) -> impl FnOnce(DriverError) -> KernelError + '_ {
    move |e| KernelError::Cuda {
        call: call.to_string(),
        detail: format!("{e:?}"),
    }
}

/// A CUDA device with one stream. Creating it checks, in order, that the driver
/// library loads, that a device exists, and that NVRTC loads, and says which is missing.
pub struct Gpu {
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    name: String,
    compute_capability: (i32, i32),
    sms: usize,
    driver_version: i32,
    modules: Mutex<HashMap<(&'static str, ElemType), Arc<CudaModule>>>,
}

impl std::fmt::Debug for Gpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gpu")
            .field("name", &self.name)
            .field("arch", &self.arch())
            .field("sms", &self.sms)
            .finish()
    }
}

/// Ok when the CUDA driver library (libcuda) can be loaded.
pub fn driver_available() -> Result<()> {
    // SAFETY: only tries to dlopen the library by its usual names.
    if unsafe { sys::is_culib_present() } {
        Ok(())
    } else {
        Err(KernelError::CudaUnavailable {
            what: "CUDA driver (libcuda)",
            detail: "no NVIDIA driver is installed on this machine; GPU kernels need one".to_string(),
        })
    }
}

impl Gpu {
    /// Opens device `ordinal` (0 for the first GPU).
    pub fn new(ordinal: usize) -> Result<Self> {
        driver_available()?;
        let count = CudaContext::device_count().map_err(|e| KernelError::CudaUnavailable {
            what: "CUDA device",
            detail: format!("the driver loaded but could not list devices: {e:?}"),
        })?;
        if ordinal >= count.max(0) as usize {
            return Err(KernelError::CudaUnavailable {
                what: "CUDA device",
                detail: format!("device {ordinal} requested, {count} present"),
            });
        }
        nvrtc_available()?;
        let ctx = CudaContext::new(ordinal).map_err(driver_err("cuCtxCreate"))?;
        let name = ctx.name().map_err(driver_err("cuDeviceGetName"))?;
        let compute_capability = ctx.compute_capability().map_err(driver_err("cuDeviceGetAttribute"))?;
        let sms = ctx
            .attribute(sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)
            .map_err(driver_err("cuDeviceGetAttribute"))? as usize;
        let mut driver_version = 0i32;
        // SAFETY: the driver is loaded; writes one int.
        unsafe {
            let _ = sys::cuDriverGetVersion(&mut driver_version);
        }
        let stream = ctx.default_stream();
        Ok(Self {
            ctx,
            stream,
            name,
            compute_capability,
            sms,
            driver_version,
            modules: Mutex::new(HashMap::new()),
        })
    }

    /// The device's name, e.g. `NVIDIA H100 80GB HBM3`.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Streaming multiprocessors.
    pub fn sms(&self) -> usize {
        self.sms
    }
    /// CUDA version the driver supports, e.g. 13000 for 13.0.
    pub fn driver_version(&self) -> i32 {
        self.driver_version
    }
    /// The NVRTC target: `sm_90a` on Hopper (for its architecture-specific
    /// instructions), `sm_XY` otherwise.
    pub fn arch(&self) -> String {
        let (ma, mi) = self.compute_capability;
        if (ma, mi) == (9, 0) {
            "sm_90a".to_string()
        } else {
            format!("sm_{ma}{mi}")
        }
    }
    /// The context (for allocations and events).
    pub fn context(&self) -> &Arc<CudaContext> {
        &self.ctx
    }
    /// The stream every kernel of this handle runs on.
    pub fn stream(&self) -> &Arc<CudaStream> {
        &self.stream
    }

    /// The module of `source` (for its element type), compiled (or read from the cache)
    /// and loaded once per handle.
    pub fn module(&self, source: &KernelSource) -> Result<Arc<CudaModule>> {
        let mut modules = self.modules.lock().map_err(|_| KernelError::Cuda {
            call: "module cache".to_string(),
            detail: "a previous load panicked".to_string(),
        })?;
        if let Some(m) = modules.get(&(source.name, source.elem)) {
            return Ok(m.clone());
        }
        let cubin = cached_cubin(source, &self.arch())?;
        let module = self
            .ctx
            .load_module(Ptx::from_binary(cubin))
            .map_err(driver_err("cuModuleLoadData"))?;
        modules.insert((source.name, source.elem), module.clone());
        Ok(module)
    }

    /// Times `enqueue` (work it puts on [`Gpu::stream`]): `warmup` untimed calls, then
    /// `iters` calls each between two CUDA events; milliseconds per call. The calls are
    /// enqueued back to back and read after the last, so the GPU does not idle between
    /// samples. Host work inside `enqueue` overlaps the GPU's and is not timed unless it
    /// blocks.
    pub fn time_ms(&self, warmup: usize, iters: usize, mut enqueue: impl FnMut() -> Result<()>) -> Result<Vec<f32>> {
        for _ in 0..warmup {
            enqueue()?;
        }
        let flags = Some(sys::CUevent_flags::CU_EVENT_DEFAULT);
        let mut events = Vec::with_capacity(iters);
        for _ in 0..iters {
            let start = self.ctx.new_event(flags).map_err(driver_err("cuEventCreate"))?;
            let end = self.ctx.new_event(flags).map_err(driver_err("cuEventCreate"))?;
            start.record(&self.stream).map_err(driver_err("cuEventRecord"))?;
            enqueue()?;
            end.record(&self.stream).map_err(driver_err("cuEventRecord"))?;
            events.push((start, end));
        }
        events
            .iter()
            .map(|(start, end)| start.elapsed_ms(end).map_err(driver_err("cuEventElapsedTime")))
            .collect()
    }

    /// Keeps the GPU busy with `enqueue` for about `ms` milliseconds (one timed call, then
    /// as many more back to back as fill the time), so that what is timed next runs at the
    /// clocks the GPU holds under sustained load: a long kernel otherwise starts at boost
    /// clocks and slows as it reaches the power limit, while a short one never does, and
    /// their ratio would compare different clocks. Nothing when `ms` is 0.
    pub fn sustain(&self, ms: f64, mut enqueue: impl FnMut() -> Result<()>) -> Result<()> {
        if ms <= 0.0 {
            return Ok(());
        }
        let once = self.time_ms(0, 1, &mut enqueue)?[0].max(1e-3) as f64;
        let calls = (ms / once).ceil().min(1e6) as usize;
        for _ in 0..calls {
            enqueue()?;
        }
        self.stream.synchronize().map_err(driver_err("cuStreamSynchronize"))?;
        Ok(())
    }

    /// Function `name` of `source`.
    pub fn function(&self, source: &KernelSource, name: &str) -> Result<CudaFunction> {
        self.module(source)?
            .load_function(name)
            .map_err(driver_err("cuModuleGetFunction"))
    }
}
