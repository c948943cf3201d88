"""Tail-safe maps between the unit interval and the standard normal.

Layers exchange values in the Gaussian view ``z = Phi^-1(u)``: a uniform value
saturates at 1.0 about 8.3 standard deviations out, a Gaussian value does not.
These kernels know nothing about estimators.
"""

import numpy as np
from scipy.special import log_ndtr, ndtr, ndtri, ndtri_exp

LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)

# Smallest and largest uniforms whose normal quantile is finite.
_U_MIN = np.finfo(np.float64).tiny
_U_MAX = 1.0 - np.finfo(np.float64).epsneg


def norm_logpdf(z):
    """Log density of the standard normal, elementwise (-inf beyond |z| ~ 1e154)."""
    with np.errstate(over="ignore"):
        return -0.5 * np.square(z) - LOG_SQRT_2PI


def z_from_log_cdf_sf(log_cdf, log_sf):
    """Normal quantile of a probability given both of its tails in log space.

    The lower tail is used where it is the smaller one, the upper tail
    elsewhere, so that neither tail loses precision to ``1 - u``.
    """
    # One pass over the smaller tail, then a sign flip, rather than
    # gathering and scattering each half: the same numbers, elementwise.
    lower = log_cdf <= log_sf
    z = np.asarray(ndtri_exp(np.where(lower, log_cdf, log_sf)), dtype=np.float64)
    np.negative(z, out=z, where=~lower)
    return z


def log_cdf_sf_from_z(z):
    """Log CDF and log survival function of the standard normal at ``z``."""
    return log_ndtr(z), log_ndtr(-z)


def uniform_from_z(z):
    """Map the Gaussian view back to the unit interval."""
    return ndtr(z)


def z_from_uniform(u):
    """Map points of the closed unit interval to the Gaussian view.

    The faces 0 and 1 are moved to the nearest representable interior
    points, whose quantiles are finite (about -37.5 and 8.2).
    """
    return ndtri(np.clip(u, _U_MIN, _U_MAX))
