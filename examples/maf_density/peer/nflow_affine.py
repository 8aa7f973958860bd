"""nflow's MAF step as a zuko univariate transform, for running zuko with nflow's parametrisation.

Data -> base: z = (x - mu) exp(-alpha), alpha = B tanh(raw / B), log|dz/dx| = -alpha, where
(mu, raw) are the MADE's two outputs for the feature and B = NflowAffine.bound (nflow's default
log-scale bound is 3). Pass it as `zuko.flows.MAF(..., univariate=NflowAffine)`.
"""
import torch
from torch.distributions import Transform, constraints


class NflowAffine(Transform):
    """nflow's MAF step, data -> base."""

    domain = constraints.real
    codomain = constraints.real
    bijective = True
    sign = +1
    bound = 3.0

    def __init__(self, shift, raw, **kw):
        super().__init__(**kw)
        self.shift = shift
        self.alpha = self.bound * torch.tanh(raw / self.bound)

    def _call(self, x):
        return (x - self.shift) * torch.exp(-self.alpha)

    def _inverse(self, z):
        return z * torch.exp(self.alpha) + self.shift

    def log_abs_det_jacobian(self, x, y):
        return -self.alpha
