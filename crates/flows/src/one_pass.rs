//! [`OnePass`]: how a masked autoregressive layer computes its fast direction.

use serde::{Deserialize, Serialize};

/// How a masked autoregressive layer computes the direction whose input is the side its MADE
/// reads: the density for a MAF, sampling for an IAF (one MADE pass either way).
///
/// Both compute the same function and agree to rounding; they differ in cost:
///
/// | strategy | MADE work | where it runs |
/// |---|---|---|
/// | [`BlockTriangular`](OnePass::BlockTriangular) | the blocks the masks keep: about **half** a dense pass | host kernels on CPU (burn's `flex` device) without autodiff, for transformers with a scalar form; batch rows split across threads |
/// | [`BlockTriangular`](OnePass::BlockTriangular), training | the blocks the masks keep, forward and backward ([`Made::forward_blocks`](nflow_made::Made::forward_blocks)) | one burn operation per masked linear with a hand-written backward; the transformer and its partial derivatives on the host, as two more |
/// | [`Dense`](OnePass::Dense) | dense matmuls with masked weights `W ⊙ M` | burn's tensor ops, on any device, differentiable |
///
/// With every layer's units sorted by degree ([`nflow_made::DegreeSortedMade`]), each masked
/// weight is block lower-triangular: the units of degree `m` read only the units of degree `≤ m`
/// below them. [`BlockTriangular`](OnePass::BlockTriangular) multiplies just those blocks and
/// applies the transformer on the host in the same task, so no intermediate tensor is
/// allocated. On another backend, for a transformer without
/// [`scalar`](crate::ElementwiseTransformer::scalar) form, and for a MADE whose masks were
/// replaced, it falls back to the dense pass, which is always available as the reference.
///
/// # Training
///
/// With autodiff on the CPU, every masked linear of the MADE is one burn operation computed on
/// its non-zero blocks, forward and backward (the weight gradient stays masked;
/// [`nflow_made::BlockPlan`]), and [`BlockTriangular`](OnePass::BlockTriangular) moves the
/// transformer to the host: each value is mapped with its partial derivatives
/// ([`ScalarTransformer::forward_partials_one`](crate::ScalarTransformer::forward_partials_one)),
/// and the backward applies the chain rule through them in one pass, where the spline's own
/// tensor form records dozens of ops. [`Dense`](OnePass::Dense) keeps burn's dense masked
/// products and the transformer's tensor ops: the reference both are tested against.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnePass {
    /// The non-zero blocks only, on the host (the default where it applies).
    #[default]
    BlockTriangular,
    /// burn's dense masked matmuls: the reference.
    Dense,
}

impl OnePass {
    /// Snake-case name: `"block_triangular"` or `"dense"`.
    pub fn name(self) -> &'static str {
        match self {
            OnePass::BlockTriangular => "block_triangular",
            OnePass::Dense => "dense",
        }
    }
}

impl std::fmt::Display for OnePass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
