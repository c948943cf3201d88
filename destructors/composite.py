"""Composition of destructors, and the identity destructor."""

import numpy as np
from sklearn.utils.metaestimators import _BaseComposition

from ._normal import norm_logpdf
from .base import BaseDestructor, CanonicalDestructor, make_layer

__all__ = ["CompositeDestructor", "IdentityDestructor"]


class LayerStack(BaseDestructor):
    """Base class of destructors made of fitted layers applied in turn.

    Subclasses fit the list ``layers_``; this class runs them. Forward and
    inverse passes go once over the layers in the Gaussian view, adding up
    the log-determinants, so a stack of any depth scores in one pass. It also
    offers the per-layer contributions to the log density.
    """

    def _forward(self, X, n_layers=None):
        log_det = np.zeros(X.shape[0])
        for layer in self.layers_[:n_layers]:
            X, layer_log_det = layer._forward(X)
            log_det += layer_log_det
        return X, log_det

    def _log_density(self, X, n_layers=None):
        layers = self.layers_[:n_layers]
        if len(layers) == 1 and not self._unit_input() and not layers[0]._unit_input():
            # One layer on the stack's own input: its density is the stack's,
            # and the layer may know a shorter way to it than its forward pass.
            return layers[0]._log_density(X)
        return super()._log_density(X, n_layers=n_layers)

    def _inverse(self, Z, n_layers=None):
        for layer in reversed(self.layers_[:n_layers]):
            Z = layer._inverse(Z)
        return Z

    def _bytes_per_row(self, n_features):
        return max(layer._bytes_per_row(n_features) for layer in self.layers_)

    def _layer_contributions(self, X):
        """Log density each layer contributes, in the uniform view: rows sum to the log density."""
        contributions = np.empty((X.shape[0], len(self.layers_)))
        log_phi_in = norm_logpdf(X).sum(axis=1) if self._unit_input() else 0.0
        for k, layer in enumerate(self.layers_):
            X, layer_log_det = layer._forward(X)
            log_phi_out = norm_logpdf(X).sum(axis=1)
            contributions[:, k] = layer_log_det + log_phi_out - log_phi_in
            log_phi_in = log_phi_out
        return contributions

    def score_samples_layers(self, X):
        """Contribution of each layer to the log density of each row.

        Column ``k`` is ``log |det J|`` of layer ``k`` in the uniform view: the
        log density, under that layer's own canonical density, of the data as
        the previous layers left it. A layer that found no structure
        contributes about zero.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Points at which to evaluate the density.

        Returns
        -------
        contributions : ndarray of shape (n_samples, n_layers)
            Per-layer log-density contributions; each row sums to
            :meth:`score_samples`.
        """
        if self._cells() is not None:
            raise ValueError(
                f"{type(self).__name__}.score_samples_layers: the model has discrete or categorical features, "
                "whose probability integrates the whole stack over their cells; per-layer contributions "
                "exist for continuous features only."
            )
        return self._map_rows(self._layer_contributions, self._check_X(X))


class CompositeDestructor(_BaseComposition, LayerStack):
    """Chain destructors; the log-determinants of all steps add up.

    Each step is fitted on the output of the previous ones. The steps
    exchange Gaussian views, so a fitted step takes and returns standard-
    normal-space values whatever its own ``input_distribution`` and
    ``output_distribution`` say; the composite's own ``output_distribution``
    decides the final output. ``score_samples`` runs one pass over the steps,
    accumulating their log-determinants.

    Unlike :class:`~sklearn.pipeline.Pipeline`, whose ``score_samples`` only
    scores the last step on transformed data, this is the density of the
    original ``X``.

    Parameters
    ----------
    steps : list of (str, destructor) tuples
        Named destructors, as in a Pipeline; grid search reaches
        ``<name>__<param>``. The first step takes the raw data: its domain is
        the composite's domain.
    output_distribution : {"uniform", "normal"}, default="uniform"
        Distribution of the transformed data.

    Attributes
    ----------
    layers_ : list of destructors
        Fitted clones of the steps, in order.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` had string column names.

    Examples
    --------
    >>> import numpy as np
    >>> from destructors import CompositeDestructor, GaussianDestructor, MarginalDestructor
    >>> X = np.random.default_rng(0).gamma(2.0, size=(1000, 2))
    >>> model = CompositeDestructor([
    ...     ("marginal", MarginalDestructor()),
    ...     ("gaussian", GaussianDestructor()),
    ... ]).fit(X)
    >>> model.score(X) > MarginalDestructor().fit(X).score(X) - 0.05
    True
    >>> model.set_params(marginal__density=None).get_params()["marginal__density"] is None
    True
    """

    _parameter_constraints: dict = {
        **BaseDestructor._parameter_constraints,
        "steps": [list],
    }

    def __init__(self, steps, *, output_distribution="uniform"):
        self.steps = steps
        self.output_distribution = output_distribution

    def get_params(self, deep=True):
        """Get parameters, including those of the steps as ``<name>__<param>``."""
        return self._get_params("steps", deep=deep)

    def set_params(self, **params):
        """Set parameters, including those of the steps as ``<name>__<param>``."""
        self._set_params("steps", **params)
        return self

    def _validate_steps(self):
        if not self.steps:
            raise ValueError("CompositeDestructor needs at least one step.")
        names, destructors = zip(*self.steps)
        self._validate_names(names)
        for name, destructor in self.steps:
            if not isinstance(destructor, BaseDestructor):
                raise TypeError(
                    f"CompositeDestructor step {name!r} must be a destructor "
                    f"(a BaseDestructor), got {type(destructor).__name__}."
                )

    def _unit_input(self):
        return self.steps[0][1]._unit_input()

    def _check_fit_X(self, X):
        self._validate_steps()
        return super()._check_fit_X(X)

    def _fit(self, X):
        self._fit_forward(X)

    def _fit_forward(self, X):
        self._validate_steps()
        self.layers_ = []
        log_det = np.zeros(X.shape[0])
        for _, step in self.steps:
            layer = make_layer(step)
            X, layer_log_det = layer._fit_layer(X)
            log_det += layer_log_det
            self.layers_.append(layer)
        return X, log_det



class IdentityDestructor(CanonicalDestructor):
    """The identity map: the uniform density on the unit cube.

    With ``input_distribution="normal"`` it is the standard normal density
    on the Gaussian view. Useful as a placeholder step and as the zero-layer
    model of a deep destructor.

    Parameters
    ----------
    input_distribution : {"uniform", "normal"}, default="uniform"
        Domain of the input: the unit cube, or its Gaussian view.
    output_distribution : {"uniform", "normal"}, default="uniform"
        Distribution of the transformed data.

    Attributes
    ----------
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` had string column names.

    Examples
    --------
    >>> import numpy as np
    >>> from destructors import IdentityDestructor
    >>> U = np.random.default_rng(0).uniform(size=(5, 2))
    >>> identity = IdentityDestructor().fit(U)
    >>> np.allclose(identity.transform(U), U), np.allclose(identity.score_samples(U), 0)
    (True, True)
    """

    def __init__(self, *, input_distribution="uniform", output_distribution="uniform"):
        self.input_distribution = input_distribution
        self.output_distribution = output_distribution

    def _fit(self, X):
        pass

    def _forward(self, X):
        return X.copy(), np.zeros(X.shape[0])

    def _inverse(self, Z):
        return Z.copy()
