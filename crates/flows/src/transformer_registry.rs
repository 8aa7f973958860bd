//! The transformer registry: which transformer kinds a saved config may name.

use std::any::TypeId;
use std::collections::BTreeMap;
use std::sync::{OnceLock, RwLock};

use nflow_core::{FlowConfigError, NflowError, Result};

use crate::affine_transformer::AffineTransformer;
use crate::spline_transformer::SplineTransformer;
use crate::transformer::TransformerKind;
use crate::transformer_spec::TransformerSpec;

/// How to rebuild one transformer kind from its saved settings.
#[derive(Clone, Copy)]
struct Registration {
    type_id: TypeId,
    type_name: &'static str,
    from_settings: fn(serde_json::Value) -> Result<TransformerSpec>,
    default: fn() -> TransformerSpec,
}

impl Registration {
    fn of<T: TransformerKind>() -> (&'static str, Self) {
        (
            T::KIND,
            Self {
                type_id: TypeId::of::<T>(),
                type_name: std::any::type_name::<T>(),
                from_settings: |settings| {
                    let bad = |reason: String| FlowConfigError::BadTransformer {
                        kind: T::KIND.to_string(),
                        reason,
                    };
                    let given: Vec<String> = match &settings {
                        serde_json::Value::Object(map) => map.keys().cloned().collect(),
                        _ => Vec::new(),
                    };
                    // A unit struct (no settings) reads from `null`, not from `{}`.
                    let settings = match settings {
                        serde_json::Value::Object(map) if map.is_empty() => {
                            serde_json::from_value::<T>(serde_json::Value::Null)
                                .map(|_| serde_json::Value::Null)
                                .unwrap_or(serde_json::Value::Object(map))
                        }
                        other => other,
                    };
                    let transformer: T =
                        serde_json::from_value(settings).map_err(|e| bad(e.to_string()))?;
                    let spec = TransformerSpec::new(transformer);
                    // Settings the type does not have would be dropped silently: refuse them.
                    let unknown: Vec<&String> = given
                        .iter()
                        .filter(|k| !spec.settings().contains_key(k.as_str()))
                        .collect();
                    if !unknown.is_empty() {
                        return Err(bad(format!(
                            "unknown settings {unknown:?}; {} has {:?}",
                            T::KIND,
                            spec.settings().keys().collect::<Vec<_>>()
                        ))
                        .into());
                    }
                    Ok(spec)
                },
                default: || TransformerSpec::new(T::default()),
            },
        )
    }
}

/// The transformers nflow ships: one line each.
fn builtin() -> Vec<(&'static str, Registration)> {
    vec![
        Registration::of::<AffineTransformer>(),
        Registration::of::<SplineTransformer>(),
    ]
}

fn registry() -> &'static RwLock<BTreeMap<&'static str, Registration>> {
    static REGISTRY: OnceLock<RwLock<BTreeMap<&'static str, Registration>>> = OnceLock::new();
    REGISTRY.get_or_init(|| RwLock::new(builtin().into_iter().collect()))
}

/// Makes transformer `T` nameable in saved configs (`{"kind": T::KIND, …}`), so that
/// [`AutoregressiveFlow::load`](crate::AutoregressiveFlow::load) and config deserialisation can
/// rebuild it. Built-in transformers are registered already; call this once for each transformer
/// of your own before loading a model that uses it. Registering the same type again does nothing.
///
/// Building a flow from a config value that already holds the transformer does not need the
/// registry; reading one back from JSON does.
///
/// # Errors
/// [`FlowConfigError::DuplicateTransformerKind`] when another type is registered under the same
/// name.
pub fn register_transformer<T: TransformerKind>() -> Result<()> {
    let (kind, registration) = Registration::of::<T>();
    let mut map = registry().write().unwrap_or_else(|e| e.into_inner());
    match map.get(kind) {
        Some(existing) if existing.type_id != TypeId::of::<T>() => Err(NflowError::FlowConfig(
            FlowConfigError::DuplicateTransformerKind {
                kind: kind.to_string(),
                existing: existing.type_name.to_string(),
                new: std::any::type_name::<T>().to_string(),
            },
        )),
        Some(_) => Ok(()),
        None => {
            map.insert(kind, registration);
            Ok(())
        }
    }
}

/// Every registered transformer kind, with its default settings, ordered by name: what the test
/// registry runs through the bijector harness.
pub fn registered_transformers() -> Vec<TransformerSpec> {
    let defaults: Vec<fn() -> TransformerSpec> = {
        let map = registry().read().unwrap_or_else(|e| e.into_inner());
        map.values().map(|r| r.default).collect()
    };
    // User code (`Default`, `Serialize`) runs without the lock held.
    defaults.into_iter().map(|default| default()).collect()
}

/// Rebuilds a transformer of registered kind `kind` from its settings.
pub(crate) fn transformer_from_settings(
    kind: &str,
    settings: serde_json::Value,
) -> Result<TransformerSpec> {
    let registration = {
        let map = registry().read().unwrap_or_else(|e| e.into_inner());
        match map.get(kind) {
            Some(r) => *r,
            None => {
                return Err(NflowError::FlowConfig(
                    FlowConfigError::UnknownTransformer {
                        kind: kind.to_string(),
                        registered: map.keys().map(|k| k.to_string()).collect(),
                    },
                ));
            }
        }
    };
    (registration.from_settings)(settings)
}
