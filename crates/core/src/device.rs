//! Backend choice, in one place.
//!
//! nflow runs on burn's pure-Rust `flex` CPU backend by default. The cargo features `cuda` and
//! `wgpu` forward to burn's own and add those devices to [`device_from_name`]. Building `cuda`
//! runs a build script that downloads an LLVM bundle, so it needs network access at build time;
//! `wgpu` builds offline but needs a Vulkan, Metal or DX12 driver at run time.
//!
//! Autodiff is a property of a device in burn 0.22: train on `device.autodiff()`.

use burn::tensor::Device;

use crate::error::{NflowError, Result};

/// The default device: burn's `flex` CPU backend.
pub fn default_device() -> Device {
    Device::flex()
}

/// The device names this build accepts in [`device_from_name`].
pub fn available_device_names() -> Vec<&'static str> {
    #[allow(unused_mut)]
    let mut names = vec!["flex", "cpu"];
    #[cfg(feature = "cuda")]
    names.extend(["cuda", "cuda:N"]);
    #[cfg(feature = "wgpu")]
    names.push("wgpu");
    names
}

/// Picks a device by name at run time: `"flex"` / `"cpu"`, and with the matching cargo features
/// `"cuda"`, `"cuda:N"` and `"wgpu"`.
///
/// ```
/// let device = nflow_core::device_from_name("flex").unwrap();
/// assert!(nflow_core::device_from_name("tpu").is_err());
/// # let _ = device;
/// ```
///
/// # Errors
/// [`NflowError::UnknownDevice`] for a name this build does not provide (for instance `cuda` in
/// a build without the `cuda` feature).
pub fn device_from_name(name: &str) -> Result<Device> {
    let lower = name.trim().to_ascii_lowercase();
    match lower.as_str() {
        "flex" | "cpu" => return Ok(Device::flex()),
        #[cfg(feature = "wgpu")]
        "wgpu" => return Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)),
        _ => {}
    }
    #[cfg(feature = "cuda")]
    {
        if lower == "cuda" {
            return Ok(Device::cuda(0));
        }
        if let Some(index) = lower.strip_prefix("cuda:")
            && let Ok(index) = index.parse::<usize>()
        {
            return Ok(Device::cuda(index));
        }
    }
    Err(NflowError::UnknownDevice {
        name: name.to_string(),
        available: available_device_names().join(", "),
    })
}

/// The CPU model as the operating system names it (`model name` in `/proc/cpuinfo`), or
/// `"unknown CPU"`: reports name the machine beside every time they give.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}
