//! [`TransformerSpec`]: a transformer together with its saved form, as a config field.

use std::any::Any;
use std::sync::Arc;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use nflow_core::FlowConfigError;

use crate::transformer::{ElementwiseTransformer, TransformerKind};
use crate::transformer_registry::transformer_from_settings;

/// The transformer of a flow config: a shared [`ElementwiseTransformer`] plus its kind and
/// settings, so the config serialises as `{"kind": "affine", "log_scale_bound": 3.0}` and reads
/// back through the [registry](crate::register_transformer).
///
/// Build one from any [`TransformerKind`] with `From`:
///
/// ```
/// use nflow_flows::{AffineTransformer, MafConfig, TransformerSpec};
///
/// let spec: TransformerSpec = AffineTransformer::new(2.5).into();
/// assert_eq!(spec.kind(), "affine");
/// let config = MafConfig::new(3).with_transformer(spec);
/// let json = serde_json::to_value(&config.transformer).unwrap();
/// assert_eq!(json, serde_json::json!({"kind": "affine", "log_scale_bound": 2.5}));
/// assert_eq!(config.transformer.get::<AffineTransformer>().unwrap().log_scale_bound, 2.5);
/// ```
#[derive(Clone)]
pub struct TransformerSpec {
    kind: &'static str,
    settings: serde_json::Map<String, serde_json::Value>,
    transformer: Arc<dyn ElementwiseTransformer>,
}

impl TransformerSpec {
    /// Wraps `transformer` (its settings are validated when a flow is built).
    ///
    /// # Panics
    /// When `T` does not serialise to a JSON object (a struct with named fields, or a unit
    /// struct) without a field named `kind`, which [`TransformerKind`] requires.
    pub fn new<T: TransformerKind>(transformer: T) -> Self {
        let settings = match serde_json::to_value(&transformer) {
            Ok(serde_json::Value::Object(map)) if !map.contains_key("kind") => map,
            Ok(serde_json::Value::Null) => serde_json::Map::new(),
            Ok(other) => panic!(
                "transformer {:?} must serialise to a JSON object of settings, got {other}",
                T::KIND
            ),
            Err(e) => panic!("transformer {:?} does not serialise: {e}", T::KIND),
        };
        Self {
            kind: T::KIND,
            settings,
            transformer: Arc::new(transformer),
        }
    }

    /// The registered name, e.g. `"affine"`.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// The settings as saved (without the `kind` key).
    pub fn settings(&self) -> &serde_json::Map<String, serde_json::Value> {
        &self.settings
    }

    /// The transformer.
    pub fn transformer(&self) -> &dyn ElementwiseTransformer {
        self.transformer.as_ref()
    }

    /// Reads a transformer from its saved form `{"kind": …, …settings}` through the
    /// [registry](crate::register_transformer).
    ///
    /// # Errors
    /// [`FlowConfigError::UnknownTransformer`] (listing the registered kinds) for a kind nobody
    /// registered, [`FlowConfigError::BadTransformer`] for settings that do not parse (unknown
    /// fields included), or a value that is not an object with a string `kind`.
    pub fn from_json(value: serde_json::Value) -> nflow_core::Result<Self> {
        let bad = |reason: String| {
            nflow_core::NflowError::FlowConfig(FlowConfigError::BadTransformer {
                kind: String::new(),
                reason,
            })
        };
        let serde_json::Value::Object(mut map) = value else {
            return Err(bad(format!(
                "a transformer is a JSON object with a \"kind\", got {value}"
            )));
        };
        match map.remove("kind") {
            Some(serde_json::Value::String(kind)) => {
                transformer_from_settings(&kind, serde_json::Value::Object(map))
            }
            Some(other) => Err(bad(format!(
                "a transformer's \"kind\" must be a string, got {other}"
            ))),
            None => Err(bad("a transformer needs a \"kind\"".into())),
        }
    }

    /// Checks the settings (the transformer's own `validate`) and that it asks for at least one
    /// parameter per coordinate.
    ///
    /// # Errors
    /// The transformer's validation error; [`FlowConfigError::ZeroTransformerParams`].
    pub fn validate(&self) -> nflow_core::Result<()> {
        self.transformer.validate()?;
        if self.transformer.params_per_dim() == 0 {
            return Err(FlowConfigError::ZeroTransformerParams {
                kind: self.kind.to_string(),
            }
            .into());
        }
        Ok(())
    }

    /// The transformer as its concrete type, when it is a `T`.
    pub fn get<T: TransformerKind>(&self) -> Option<&T> {
        let any: &dyn Any = self.transformer.as_ref();
        any.downcast_ref::<T>()
    }
}

impl<T: TransformerKind> From<T> for TransformerSpec {
    fn from(transformer: T) -> Self {
        TransformerSpec::new(transformer)
    }
}

impl std::fmt::Debug for TransformerSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{:?}", self.kind, self.settings)
    }
}

impl PartialEq for TransformerSpec {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.settings == other.settings
    }
}

impl Serialize for TransformerSpec {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serde_json::Map::new();
        map.insert("kind".into(), self.kind.into());
        map.extend(self.settings.clone());
        map.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for TransformerSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        TransformerSpec::from_json(value).map_err(|e| D::Error::custom(e.to_string()))
    }
}
