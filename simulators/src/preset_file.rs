//! What the GPU presets and the accelerator presets share: a built-in preset by name or else a
//! user's TOML file at that path, parsed with errors that name the preset or file.

use crate::error::{Result, SimulatorError};
use serde::de::DeserializeOwned;
use std::path::Path;

/// The TOML text of `name_or_path` and the name that labels its errors: the built-in preset of that
/// name, else the file at that path. A missing file is an error listing the built-in names.
pub fn preset_text(name_or_path: &str, built_in: &[(&'static str, &'static str)]) -> Result<(String, String)> {
    if let Some((name, text)) = built_in.iter().find(|(n, _)| *n == name_or_path) {
        return Ok((text.to_string(), format!("preset {name}")));
    }
    let path = Path::new(name_or_path);
    match std::fs::read_to_string(path) {
        Ok(text) => Ok((text, path.display().to_string())),
        Err(e) => Err(SimulatorError::UnknownPreset {
            name: name_or_path.to_string(),
            known: built_in.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", "),
            problem: e.to_string(),
        }),
    }
}

/// Parses TOML text into `T`; `source_name` (a file or preset name) labels the error.
pub fn parse_toml<T: DeserializeOwned>(text: &str, source_name: &str) -> Result<T> {
    toml::from_str(text).map_err(|e| SimulatorError::ParseConfig {
        source_name: source_name.to_string(),
        message: e.to_string().trim_end().to_string(),
    })
}
