//! The model file of `rask fit` and `rask sweep`: what was fitted, on which columns, and the
//! fitted pipeline itself.

use std::path::Path;

use anyhow::{bail, Context, Result};
use rask_ml::params::{ParamValue, SetParams};
use rask_ml::{BlockModel, ModelKind};
use serde::{Deserialize, Serialize};

use super::data::Features;
use super::spec::ModelSpec;
use crate::catalog::{DynFitted, Target};

/// The first field of every model file.
pub const MODEL_FILE_MAGIC: &str = "rask-model";
const VERSION: u32 = 1;

/// A saved model: a header a person (and `rask predict`) can read without knowing the type,
/// and the fitted pipeline as MessagePack.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelFile {
    /// [`MODEL_FILE_MAGIC`].
    pub magic: String,
    /// The file format's version.
    pub version: u32,
    /// The Rask version that wrote it.
    pub rask_version: String,
    /// The final estimator's catalog name.
    pub estimator: String,
    /// `Classifier`, `Regressor`, `Clusterer` or `Transformer`.
    pub kind: String,
    /// `labels` or `values`.
    pub target: String,
    /// The model spec it was built from (steps and parameters as given).
    pub spec: ModelSpec,
    /// Every parameter of the pipeline, by path, as fitted.
    pub params: Vec<(String, ParamValue)>,
    /// The features it was fitted on.
    pub features: Features,
    /// The fitted pipeline (MessagePack).
    #[serde(with = "serde_bytes")]
    pub model: Vec<u8>,
}

impl rask_ml::Persist for ModelFile {
    fn tag() -> String {
        "rask.cli.ModelFile/1".into()
    }
}

fn kind_name(kind: ModelKind) -> &'static str {
    match kind {
        ModelKind::Classifier => "Classifier",
        ModelKind::Regressor => "Regressor",
        ModelKind::Clusterer => "Clusterer",
        ModelKind::Transformer => "Transformer",
    }
}

impl ModelFile {
    /// The file of a fitted pipeline.
    pub fn new<Y: Target, M: BlockModel>(
        estimator: &str,
        kind: ModelKind,
        spec: &ModelSpec,
        features: Features,
        fitted: &DynFitted<M>,
    ) -> Result<Self> {
        Ok(ModelFile {
            magic: MODEL_FILE_MAGIC.into(),
            version: VERSION,
            rask_version: env!("CARGO_PKG_VERSION").into(),
            estimator: estimator.into(),
            kind: kind_name(kind).into(),
            target: Y::NAME.into(),
            spec: spec.clone(),
            params: Vec::new(),
            features,
            model: rask_ml::to_bytes(fitted)?,
        })
    }

    /// With the pipeline's parameters recorded.
    pub fn with_params(mut self, p: &impl SetParams) -> Self {
        self.params = p.get_params();
        self
    }

    /// Writes the file.
    pub fn save(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create the folder {}", dir.display()))?;
        }
        rask_ml::save(self, path).with_context(|| format!("saving the model to {}", path.display()))
    }

    /// Reads a file [`save`](Self::save) wrote.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).with_context(|| format!("cannot read the model file {}", path.display()))?;
        let file: ModelFile = rask_ml::from_bytes(&bytes).map_err(|e| {
            anyhow::anyhow!("{} is not a Rask model file (written by `rask fit` or `rask sweep`): {e}", path.display())
        })?;
        if file.magic != MODEL_FILE_MAGIC {
            bail!("{} is not a Rask model file (magic `{}`)", path.display(), file.magic);
        }
        if file.version != VERSION {
            bail!(
                "{} is a model file of format version {}; this rask ({}) reads version {VERSION}",
                path.display(),
                file.version,
                env!("CARGO_PKG_VERSION")
            );
        }
        Ok(file)
    }

    /// What the model is.
    pub fn kind(&self) -> Result<ModelKind> {
        Ok(match self.kind.as_str() {
            "Classifier" => ModelKind::Classifier,
            "Regressor" => ModelKind::Regressor,
            "Clusterer" => ModelKind::Clusterer,
            "Transformer" => ModelKind::Transformer,
            other => bail!("the model file names an unknown kind `{other}`"),
        })
    }

    /// The fitted pipeline, as the type `M` of its final model.
    pub fn model<M: BlockModel>(&self) -> Result<DynFitted<M>> {
        rask_ml::from_bytes(&self.model)
            .with_context(|| format!("decoding the fitted {} in the model file", self.estimator))
    }
}
