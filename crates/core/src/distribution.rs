//! The [`Distribution`] trait: densities and samples over `[batch, D]` tensors.

use burn::tensor::Tensor;
use rand::Rng;

use crate::error::{NflowError, Result};
use crate::validate::{check_context, check_matrix};

/// A probability distribution over `R^D`, optionally conditioned on a context.
///
/// The `*_unchecked` methods are the implementation hooks and the hot path: they assume validated
/// input. The checked methods ([`log_prob`](Distribution::log_prob),
/// [`sample`](Distribution::sample), [`sample_and_log_prob`](Distribution::sample_and_log_prob))
/// validate shapes, finiteness and context, then call them, returning typed errors instead of
/// panicking.
///
/// Sampling draws its noise from the caller's random number generator, so a seeded generator
/// (e.g. `StdRng::seed_from_u64(seed)`) reproduces the same samples.
///
/// # Shapes
/// - `x`, samples: `[batch, D]` with `D = self.features()`
/// - log-densities: `[batch]`
/// - context: `[batch, C]` with `C = self.context_features()`, or `None` when `C = 0`
pub trait Distribution {
    /// The dimension `D` of the event space.
    fn features(&self) -> usize;

    /// The width `C` of the context (0 when unconditional).
    fn context_features(&self) -> usize {
        0
    }

    /// `log p(x | context)` per row, without validation.
    fn log_prob_unchecked(&self, x: Tensor<2>, context: Option<&Tensor<2>>) -> Tensor<1>;

    /// Draws `n` samples, without validation.
    fn sample_unchecked<R: Rng + ?Sized>(
        &self,
        n: usize,
        context: Option<&Tensor<2>>,
        rng: &mut R,
    ) -> Tensor<2>;

    /// Draws `n` samples and their log-densities, without validation. The default evaluates
    /// [`log_prob_unchecked`](Distribution::log_prob_unchecked) on the samples; implementations
    /// override it when the density comes cheaper along the way.
    fn sample_and_log_prob_unchecked<R: Rng + ?Sized>(
        &self,
        n: usize,
        context: Option<&Tensor<2>>,
        rng: &mut R,
    ) -> (Tensor<2>, Tensor<1>) {
        let x = self.sample_unchecked(n, context, rng);
        let log_prob = self.log_prob_unchecked(x.clone(), context);
        (x, log_prob)
    }

    /// `log p(x | context)` per row.
    ///
    /// # Errors
    /// [`NflowError::ShapeMismatch`] when `x` is not `[batch, D]` or the context does not match;
    /// [`NflowError::NonFinite`] for a NaN or infinite entry (naming its row and column).
    fn log_prob(&self, x: Tensor<2>, context: Option<&Tensor<2>>) -> Result<Tensor<1>> {
        check_matrix(&x, "log_prob input", self.features())?;
        check_context(context, self.context_features(), x.dims()[0])?;
        Ok(self.log_prob_unchecked(x, context))
    }

    /// Draws `n` samples, `[n, D]`.
    ///
    /// # Errors
    /// [`NflowError::ShapeMismatch`] for `n == 0` or a context that is not `[n, C]`.
    fn sample<R: Rng + ?Sized>(
        &self,
        n: usize,
        context: Option<&Tensor<2>>,
        rng: &mut R,
    ) -> Result<Tensor<2>> {
        check_sample_request(n, context, self.context_features())?;
        Ok(self.sample_unchecked(n, context, rng))
    }

    /// Draws `n` samples with their log-densities.
    ///
    /// # Errors
    /// As [`sample`](Distribution::sample).
    fn sample_and_log_prob<R: Rng + ?Sized>(
        &self,
        n: usize,
        context: Option<&Tensor<2>>,
        rng: &mut R,
    ) -> Result<(Tensor<2>, Tensor<1>)> {
        check_sample_request(n, context, self.context_features())?;
        Ok(self.sample_and_log_prob_unchecked(n, context, rng))
    }
}

fn check_sample_request(
    n: usize,
    context: Option<&Tensor<2>>,
    context_features: usize,
) -> Result<()> {
    if n == 0 {
        return Err(NflowError::shape_mismatch(
            "sample count",
            "n >= 1",
            "n = 0",
        ));
    }
    check_context(context, context_features, n)
}
