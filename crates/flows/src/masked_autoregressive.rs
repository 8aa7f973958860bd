//! [`MaskedAutoregressive`]: one masked autoregressive layer, any transformer, either orientation.

use burn::module::Module;
use burn::tensor::Tensor;
use nflow_core::{Bijector, FlowConfigError, Result};
use nflow_made::Made;

use crate::host_one_pass::one_pass_host;
use crate::host_partials::one_pass_partials;
use crate::incremental_inversion::solve_incremental;
use crate::inversion::Inversion;
use crate::one_pass::OnePass;
use crate::orientation::Orientation;
use crate::transformer_spec::TransformerSpec;

/// A masked autoregressive layer: a MADE conditioner computes the parameters `θ_i` of an
/// elementwise [transformer](crate::ElementwiseTransformer) `τ` for every coordinate `i`, from the
/// coordinates before `i` (and the context), and `τ` maps the coordinates one by one.
///
/// ```text
/// MAF:  x_i = τ(z_i; θ_i(x_<i)),   IAF:  x_i = τ(z_i; θ_i(z_<i)),
/// log|det ∂x/∂z| = Σ_i log|∂τ/∂z_i|
/// ```
///
/// **Which direction is fast** is set by the [`Orientation`]: the direction whose input is the side
/// the MADE reads takes **one MADE pass**; the other takes **`D` sequential steps**
/// ([`MaskedAutoregressive::solve`]). A MAF scores data in one pass and samples in `D`; an IAF
/// samples in one pass and scores outside data in `D`.
///
/// The MADE outputs `k = params_per_dim` values per coordinate, parameter-major (see
/// [`Made::forward`]); the transformer receives them as `k` tensors `[batch, D]`.
///
/// # Example
///
/// ```
/// use burn::tensor::Tensor;
/// use nflow_core::Bijector;
/// use nflow_flows::{AffineTransformer, MaskedAutoregressive, Orientation};
/// use nflow_made::MadeConfig;
///
/// let device = nflow_core::default_device();
/// let made = MadeConfig::new(3, vec![16]).with_params_per_dim(2).init(&device).unwrap();
/// let maf = MaskedAutoregressive::new(made, AffineTransformer::default().into(), Orientation::Maf).unwrap();
/// let x = Tensor::<2>::ones([4, 3], &device);
/// let (z, ladj) = maf.inverse(x.clone(), None); // one MADE pass
/// let (back, _) = maf.forward(z, None); // three MADE passes
/// assert!(back.sub(x).abs().max().into_scalar::<f32>() < 1e-5);
/// assert_eq!(ladj.dims(), [4]);
/// ```
#[derive(Module, Debug)]
pub struct MaskedAutoregressive {
    made: Made,
    #[module(skip)]
    transformer: TransformerSpec,
    #[module(skip)]
    orientation: Orientation,
    #[module(skip)]
    inversion: Inversion,
    #[module(skip)]
    one_pass: OnePass,
}

impl MaskedAutoregressive {
    /// A layer applying `transformer` with `made` as the conditioner, in `orientation`.
    ///
    /// # Errors
    /// [`FlowConfigError::ZeroTransformerParams`] for a transformer that asks for no parameters,
    /// [`FlowConfigError::ConditionerWidth`] when the MADE's `params_per_dim` differs from the
    /// transformer's; the transformer's own validation error for bad settings.
    pub fn new(made: Made, transformer: TransformerSpec, orientation: Orientation) -> Result<Self> {
        transformer.validate()?;
        let t = transformer.transformer();
        if made.config().params_per_dim != t.params_per_dim() {
            return Err(FlowConfigError::ConditionerWidth {
                kind: transformer.kind().to_string(),
                expected: t.params_per_dim(),
                got: made.config().params_per_dim,
            }
            .into());
        }
        Ok(Self {
            made,
            transformer,
            orientation,
            inversion: Inversion::default(),
            one_pass: OnePass::default(),
        })
    }

    /// The same layer solving its slow direction by `inversion` (the default is
    /// [`Inversion::Incremental`]; [`Inversion::Sequential`] is the `D`-pass reference).
    pub fn with_inversion(mut self, inversion: Inversion) -> Self {
        self.inversion = inversion;
        self
    }

    /// How the slow direction is solved.
    pub fn inversion(&self) -> Inversion {
        self.inversion
    }

    /// The same layer computing its fast direction by `one_pass` (the default is
    /// [`OnePass::BlockTriangular`]; [`OnePass::Dense`] is burn's dense reference).
    pub fn with_one_pass(mut self, one_pass: OnePass) -> Self {
        self.one_pass = one_pass;
        self
    }

    /// How the fast direction is computed.
    pub fn one_pass(&self) -> OnePass {
        self.one_pass
    }

    /// The conditioner.
    pub fn made(&self) -> &Made {
        &self.made
    }

    /// The elementwise transformer and its settings.
    pub fn transformer(&self) -> &TransformerSpec {
        &self.transformer
    }

    /// Which side the conditioner reads.
    pub fn orientation(&self) -> Orientation {
        self.orientation
    }

    /// One MADE pass: the transformer's raw parameters of every coordinate given the conditioning
    /// side `y` (`params_per_dim` tensors, each `[batch, D]`).
    pub fn params(&self, y: Tensor<2>, context: Option<&Tensor<2>>) -> Vec<Tensor<2>> {
        self.params_through(y, context, false)
    }

    /// [`params`](Self::params), with `dense` through burn's dense masked products only
    /// ([`Made::forward_dense`]: the reference path of [`OnePass::Dense`]).
    fn params_through(
        &self,
        y: Tensor<2>,
        context: Option<&Tensor<2>>,
        dense: bool,
    ) -> Vec<Tensor<2>> {
        if self.made.features() >= CONTIGUOUS_PARAMS_MIN_FEATURES
            && self.made.config().params_per_dim <= 2
        {
            self.made.forward_params(y, context)
        } else if dense {
            self.made.split_params(self.made.forward_dense(y, context))
        } else {
            self.made.split_params(self.made.forward(y, context))
        }
    }

    /// Solves `y = step(target, θ(y)).0` for `y` by `D` sequential MADE passes, where `step` maps
    /// the known side to the unknown one given the parameters; returns `y` and `step`'s elementwise
    /// log-derivatives at the solution.
    ///
    /// Pass `k` fixes every coordinate of degree `≤ k`: its parameters depend only on coordinates
    /// already exact. So after `D` passes the solution is exact. This is the one place the
    /// sequential inversion lives, for every transformer and both orientations.
    pub fn solve(
        &self,
        target: Tensor<2>,
        context: Option<&Tensor<2>>,
        step: impl Fn(Tensor<2>, &[Tensor<2>]) -> (Tensor<2>, Tensor<2>),
    ) -> (Tensor<2>, Tensor<2>) {
        let mut y = target.zeros_like();
        let mut log_derivative = y.clone();
        for _ in 0..self.made.features() {
            let params = self.params(y, context);
            (y, log_derivative) = step(target.clone(), &params);
        }
        (y, log_derivative)
    }

    /// Applies the transformer in `forward` or inverse direction to `input`, in one pass when the
    /// MADE reads `input`'s side; otherwise by the incremental solve where it applies (see
    /// [`Inversion`]), by [`solve`](Self::solve) elsewhere.
    fn apply(
        &self,
        forward: bool,
        input: Tensor<2>,
        context: Option<&Tensor<2>>,
    ) -> (Tensor<2>, Tensor<1>) {
        let t = self.transformer.transformer();
        let step = |v: Tensor<2>, p: &[Tensor<2>]| {
            if forward {
                t.forward(v, p)
            } else {
                t.inverse(v, p)
            }
        };
        let (output, log_derivative) = if forward == self.orientation.forward_is_one_pass() {
            if self.one_pass == OnePass::BlockTriangular
                && host_applies(&input, &self.made)
                && let Some(scalar) = t.scalar()
                && let Some(mapped) = one_pass_host(&self.made, &input, context, scalar, forward)
            {
                return mapped;
            }
            if self.one_pass == OnePass::BlockTriangular
                && host_trains(&input, &self.made)
                && let Some(scalar) = t.scalar()
                && let Some(mapped) = one_pass_partials(
                    self.made.forward(input.clone(), context),
                    input.clone(),
                    scalar,
                    forward,
                )
            {
                return mapped;
            }
            let params =
                self.params_through(input.clone(), context, self.one_pass == OnePass::Dense);
            step(input, &params)
        } else {
            if self.inversion == Inversion::Incremental
                && host_applies(&input, &self.made)
                && let Some(solved) = solve_incremental(&self.made, &input, context, t, forward)
            {
                return solved;
            }
            self.solve(input, context, step)
        };
        (output, log_derivative.sum_dim(1).squeeze_dim::<1>(1))
    }
}

impl Bijector for MaskedAutoregressive {
    fn features(&self) -> usize {
        self.made.features()
    }

    fn context_features(&self) -> usize {
        self.made.context_features()
    }

    /// Base → data: one MADE pass for an IAF, `D` for a MAF.
    fn forward(&self, z: Tensor<2>, context: Option<&Tensor<2>>) -> (Tensor<2>, Tensor<1>) {
        self.apply(true, z, context)
    }

    /// Data → base: one MADE pass for a MAF, `D` for an IAF.
    fn inverse(&self, x: Tensor<2>, context: Option<&Tensor<2>>) -> (Tensor<2>, Tensor<1>) {
        self.apply(false, x, context)
    }
}

/// Whether the host kernels (the incremental solve, the block-triangular pass) may replace burn's
/// ops for `input` through `made`: on the
/// `flex` CPU device (elsewhere the data would travel to the host and back), with autodiff on
/// neither the input nor the parameters (the host kernels record no graph, so gradients must
/// come from the sequential solve; the parameters' device decides, as an input can arrive
/// without autodiff while the weights train).
fn host_applies(input: &Tensor<2>, made: &Made) -> bool {
    let (data, weights) = (input.device(), made.layers()[0].bias().device());
    let flex = burn::tensor::Device::flex();
    !data.is_autodiff() && !weights.is_autodiff() && data == flex && weights == flex
}

/// Whether the transformer of the one-pass direction may run on the host with its partial
/// derivatives ([`host_partials`](crate::host_partials)) while autodiff records the MADE: on the
/// `flex` CPU device, with autodiff on the input or the parameters.
fn host_trains(input: &Tensor<2>, made: &Made) -> bool {
    let (data, weights) = (input.device(), made.layers()[0].bias().device());
    let flex = burn::tensor::Device::flex();
    (data.is_autodiff() || weights.is_autodiff())
        && data.without_autodiff() == flex
        && weights.without_autodiff() == flex
}

/// From this many features on, [`MaskedAutoregressive::params`] takes each parameter from its own
/// slice of the MADE's output layer ([`Made::forward_params`]: contiguous tensors, so the
/// transformer's elementwise ops take flex's fast paths) when there are at most two parameters
/// per feature (affine); below it, and for wider transformers, one output matmul and a split,
/// which has fewer ops and so less per-op overhead. Measured on the benchmark matrix
/// (`docs/performance.md`): for the affine transformer the split was faster at D = 2 and 8, the
/// slices at D = 21 and 63; for the spline (23 parameters) one matmul made the training step
/// 13-18 % faster at D = 21 and 63 (149 against 171 ms at 63×256).
const CONTIGUOUS_PARAMS_MIN_FEATURES: usize = 16;
