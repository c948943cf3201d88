"""Command-line interface: ``destructors <command>`` or ``python -m destructors``."""

import argparse
import sys
import time


__all__ = ["main"]


def _two_moons(n_samples, random_state):
    from sklearn.datasets import make_moons

    X, _ = make_moons(n_samples=n_samples, noise=0.05, random_state=random_state)
    return X


def demo(args):
    """Fit the default model on bundled two-moons data and report held-out log-likelihood."""
    from sklearn.model_selection import train_test_split

    from .composite import CompositeDestructor
    from .gaussian import GaussianDestructor
    from .marginal import MarginalDestructor

    X = _two_moons(args.n_samples, args.random_state)
    X_train, X_test = train_test_split(X, test_size=0.25, random_state=args.random_state)
    models = {
        "gaussian (baseline)": GaussianDestructor(),
        "marginal + gaussian copula": CompositeDestructor(
            [("marginal", MarginalDestructor()), ("gaussian", GaussianDestructor())]
        ),
    }
    print(f"two moons (noise 0.05): {len(X_train)} training rows, {len(X_test)} held-out rows")
    print(f"{'model':<30} {'held-out mean log-likelihood':>30} {'fit seconds':>12}")
    for name, model in models.items():
        start = time.perf_counter()
        model.fit(X_train)
        seconds = time.perf_counter() - start
        print(f"{name:<30} {model.score(X_test):>30.4f} {seconds:>12.3f}")
    return 0


def _parser():
    parser = argparse.ArgumentParser(
        prog="destructors",
        description="Density destructors: fit, score and sample density models.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    run_demo = commands.add_parser(
        "demo", help="fit the default model on bundled two-moons data and print its held-out score"
    )
    run_demo.add_argument("--n-samples", type=int, default=4000, help="rows to generate (default: 4000)")
    run_demo.add_argument("--random-state", type=int, default=0, help="seed (default: 0)")
    run_demo.set_defaults(handler=demo)
    return parser


def main(argv=None):
    """Entry point of the ``destructors`` console script."""
    args = _parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
