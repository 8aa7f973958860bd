//! [`Flow`]: a base distribution pushed through a bijector.

use burn::module::Module;
use burn::tensor::Tensor;
use rand::Rng;

use crate::bijector::Bijector;
use crate::distribution::Distribution;
use crate::error::{NflowError, Result};

/// A normalizing flow: a base distribution `p_Z` and a bijector `f` (base → data).
///
/// ```text
/// density:   log p(x) = log p_Z(z) + log|det ∂f⁻¹(x)/∂x|,   z = f⁻¹(x)   (the inverse pass)
/// sampling:  z ~ p_Z,  x = f(z)                                         (the forward pass)
/// both:      log p(x) = log p_Z(z) − log|det ∂f(z)/∂z|                 (forward only)
/// ```
///
/// [`sample_and_log_prob`](Distribution::sample_and_log_prob) never runs the inverse: it takes
/// the log-density from the base and the forward pass's log-determinant. For a bijector whose
/// forward is the cheap direction (an IAF), that is the fast way to get samples with densities.
///
/// The context (if the bijector has one) goes to the bijector, and to the base when the base is
/// conditional too (a MADE MoG base, say).
///
/// `Flow` is a burn [`Module`]: it trains, moves between devices and saves as one module.
///
/// # Example
///
/// ```
/// use burn::tensor::Tensor;
/// use nflow_core::{Distribution, ElementwiseAffine, Flow, StandardNormal, default_device};
/// use rand::SeedableRng;
///
/// let device = default_device();
/// // x = 2 z + 1  ⇒  x ~ N(1, 4)
/// let affine = ElementwiseAffine::from_values(&[1.0], &[2.0f64.ln()], &device).unwrap();
/// let flow = Flow::new(affine, StandardNormal::new(1, &device).unwrap()).unwrap();
///
/// let lp = flow.log_prob(Tensor::<2>::from_floats([[1.0]], &device), None).unwrap();
/// let expected = -0.5 * (2.0 * std::f64::consts::PI).ln() - 2.0f64.ln();
/// assert!((lp.into_scalar::<f64>() - expected).abs() < 1e-5);
///
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let (x, lp) = flow.sample_and_log_prob(4, None, &mut rng).unwrap();
/// assert_eq!((x.dims(), lp.dims()), ([4, 1], [4]));
///
/// // Bad input gives a typed error, not a panic.
/// assert!(flow.log_prob(Tensor::<2>::zeros([3, 2], &device), None).is_err());
/// ```
#[derive(Module, Debug)]
pub struct Flow<T: Module, P: Module> {
    transform: T,
    base: P,
}

impl<T: Module + Bijector, P: Module + Distribution> Flow<T, P> {
    /// Pushes `base` through `transform`.
    ///
    /// # Errors
    /// [`NflowError::InvalidConfig`] when the two disagree on the number of features, or when the
    /// base is conditional on a context of another width than the bijector's.
    pub fn new(transform: T, base: P) -> Result<Self> {
        if transform.features() != base.features() {
            return Err(NflowError::invalid_config(format!(
                "the bijector acts on {} features but the base distribution has {}",
                transform.features(),
                base.features()
            )));
        }
        if base.context_features() != 0 && base.context_features() != transform.context_features() {
            return Err(NflowError::invalid_config(format!(
                "a Flow's base distribution must be unconditional or take the bijector's context \
                 ({} features); it takes {}",
                transform.context_features(),
                base.context_features()
            )));
        }
        Ok(Self { transform, base })
    }

    /// The bijector (base → data).
    pub fn transform(&self) -> &T {
        &self.transform
    }

    /// The base distribution.
    pub fn base(&self) -> &P {
        &self.base
    }

    /// Splits the flow into its bijector and base.
    pub fn into_parts(self) -> (T, P) {
        (self.transform, self.base)
    }

    /// The context the base sees: the flow's, when the base is conditional.
    fn base_context<'a>(&self, context: Option<&'a Tensor<2>>) -> Option<&'a Tensor<2>> {
        if self.base.context_features() > 0 {
            context
        } else {
            None
        }
    }
}

impl<T: Module + Bijector, P: Module + Distribution> Distribution for Flow<T, P> {
    fn features(&self) -> usize {
        self.transform.features()
    }

    fn context_features(&self) -> usize {
        self.transform.context_features()
    }

    // The transform runs through `on_workers` (on a clone: modules are `Send`, not `Sync`; a
    // clone shares the parameters' buffers), so its parallel operations start on the thread
    // pool's workers. The base's random draws stay on the caller's generator.
    fn log_prob_unchecked(&self, x: Tensor<2>, context: Option<&Tensor<2>>) -> Tensor<1> {
        let (transform, base) = (self.transform.clone(), self.base.clone());
        let base_context = self.base_context(context).cloned();
        let context = context.cloned();
        crate::on_workers(move || {
            let (z, ladj) = transform.inverse(x, context.as_ref());
            base.log_prob_unchecked(z, base_context.as_ref()) + ladj
        })
    }

    fn sample_unchecked<R: Rng + ?Sized>(
        &self,
        n: usize,
        context: Option<&Tensor<2>>,
        rng: &mut R,
    ) -> Tensor<2> {
        let z = self
            .base
            .sample_unchecked(n, self.base_context(context), rng);
        let transform = self.transform.clone();
        let context = context.cloned();
        crate::on_workers(move || transform.forward_value(z, context.as_ref()))
    }

    fn sample_and_log_prob_unchecked<R: Rng + ?Sized>(
        &self,
        n: usize,
        context: Option<&Tensor<2>>,
        rng: &mut R,
    ) -> (Tensor<2>, Tensor<1>) {
        let (z, base_log_prob) =
            self.base
                .sample_and_log_prob_unchecked(n, self.base_context(context), rng);
        let transform = self.transform.clone();
        let context = context.cloned();
        let (x, ladj) = crate::on_workers(move || transform.forward(z, context.as_ref()));
        (x, base_log_prob - ladj)
    }
}
