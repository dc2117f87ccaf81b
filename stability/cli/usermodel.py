"""``--model FILE --data FILE`` for ``stability report``, ``spectrum`` and ``compare`` (standard library at import).

The accepted files are described in `MODEL_HELP` / `DATA_HELP` (shown by ``--help``).
"""

from __future__ import annotations

import argparse

__all__ = ["add_model_options", "wants_user_model", "user_recipe", "spectrum", "compare", "MODEL_HELP", "DATA_HELP"]

MODEL_HELP = (
    "a trained model: a state_dict saved with torch.save (.pt/.pth, read with torch.load(weights_only=True) "
    "only), .safetensors, or .npz (allow_pickle=False). Keys: PyTorch's weight_ih_l{k}, weight_hh_l{k}, "
    "bias_ih_l{k}, bias_hh_l{k} of one nn.RNN/nn.GRU/nn.LSTM (any num_layers, bias or not; under one prefix "
    "such as 'rnn.'; nn.*Cell keys without _l{k}), or this package's W, U, b; an nn.Linear head "
    "('<name>.weight' (q, n) + '<name>.bias', or V, c) is the readout, an nn.Embedding ('emb'/'encoder' in "
    "the key) maps token ids to inputs, a 'vocab' list/array is the vocabulary. nn.RNN's two biases are "
    "summed (b = bias_ih + bias_hh). Bidirectional and proj_size models are refused"
)
DATA_HELP = (
    "the data: a UTF-8 text file (next-token targets; the chapter's character tokenizer, or the vocabulary "
    "stored with the model), .npy (float inputs (T, m)/(T, B, m), or integer token ids (T,)/(T, B)), or .npz "
    "with 'inputs' (+ 'targets': float (T, B, q) for squared error, integer (T, B) classes) or 'ids'"
)


def add_model_options(p: argparse.ArgumentParser, *, windows: bool = True) -> None:
    """Add --model, --data, --nonlinearity, --tokenizer (and --window/--windows) to a subcommand."""
    p.add_argument("--model", metavar="FILE", default=None, help=MODEL_HELP)
    p.add_argument("--data", metavar="FILE", default=None, help=DATA_HELP + " (with --model)")
    p.add_argument("--nonlinearity", choices=("tanh", "relu"), default="tanh",
                   help="activation of nn.RNN weights (a state_dict does not record it; default: tanh)")
    p.add_argument("--tokenizer", choices=("char", "word"), default="char", help="text tokenizer (default: char)")
    if windows:
        p.add_argument("--window", type=int, default=None, metavar="T",
                       help="steps per data window (default: 256 for spectrum, 64 for compare)")
        p.add_argument("--windows", type=int, default=None, metavar="W",
                       help="number of data windows (default: 8 for spectrum, 4 for compare)")


def wants_user_model(args: argparse.Namespace) -> bool:
    """True when --model or --data was given (both are then required)."""
    from .commands import UsageProblem

    model, data = getattr(args, "model", None), getattr(args, "data", None)
    if (model is None) != (data is None):
        raise UsageProblem("--model and --data go together: give both files.")
    return model is not None


def _load(args: argparse.Namespace):
    from ..cells import load_state_dict
    from ..userdata import load_data

    model = load_state_dict(args.model, nonlinearity=args.nonlinearity)
    data = load_data(args.data, vocab=model.vocab, tokenizer=args.tokenizer)
    return model, data


def _positive(name: str, value, default: int, minimum: int) -> int:
    from .commands import UsageProblem

    if value is None:
        return default
    if value < minimum:
        raise UsageProblem(f"{name} must be at least {minimum}; got {value}.")
    return value


def user_recipe(recipe, args: argparse.Namespace):
    """*recipe* studying ``--model`` on ``--data`` (both files read once here, so a bad file fails fast, one line)."""
    from ..cells import load_state_dict
    from ..recipes import with_user_model
    from ..userdata import load_data

    recipe = with_user_model(recipe, args.model, args.data, tokenizer=args.tokenizer, nonlinearity=args.nonlinearity)
    model = load_state_dict(recipe.model.weights, nonlinearity=args.nonlinearity)
    load_data(recipe.data.path, vocab=model.vocab, tokenizer=args.tokenizer)
    return recipe


def spectrum(args: argparse.Namespace) -> int:
    """``stability spectrum --model FILE --data FILE``: spectrum and prediction along the data's trajectories."""
    from .commands import UsageProblem, bad_input

    with bad_input(validating=True):
        given = [f"--{n}" for n in ("hidden", "inputs", "gain", "weights", "T") if getattr(args, n, None) is not None]
        if given:
            raise UsageProblem(f"--model fixes the cell and --data the inputs; drop {', '.join(given)}.")
        model, data = _load(args)
        length = _positive("--window", args.window, 256, 16)
        count = _positive("--windows", args.windows, 8, 3)
    from ..modelstudy import spectrum_on_data

    with bad_input(validating=False):
        spec, prediction, lam = spectrum_on_data(model, data, length=length, count=count, exponents=args.exponents,
                                                 rng=args.seed)
    print(f"Model: {model.describe()}")
    print(prediction.summary())
    print(f"  λ₁ across {lam.n} data windows of {min(length, data.steps)} steps: {lam.estimate:.4g}, "
          f"{lam.level:.0%} t interval [{lam.low:.4g}, {lam.high:.4g}]")
    print("  " + repr(spec))
    return 0


def compare(args: argparse.Namespace) -> int:
    """``stability compare --model FILE --data FILE``: exact strategy statistics on a batch of data windows."""
    from .commands import UsageProblem, bad_input

    with bad_input(validating=True):
        given = [f"--{n}" for n in ("hidden", "inputs", "gain", "T") if getattr(args, n, None) is not None]
        if given:
            raise UsageProblem(f"--model fixes the cell and --data the sequences; drop {', '.join(given)} "
                               "(use --window for the length).")
        model, data = _load(args)
        T = _positive("--window", args.window, 64, 2)
        count = _positive("--windows", args.windows, 4, 1)
        if args.taus is not None and max(args.taus) > T:
            raise UsageProblem(f"--taus must not exceed --window = {T}; got {max(args.taus)}.")
        taus = args.taus if args.taus is not None else tuple(t for t in (0, 1, 2, 4, 8, 16, 32) if t < T)
        pis = args.pis if args.pis is not None else (0.25, 0.5, 0.75, 1.0)
        from ..modelstudy import batched_problem

        problem = batched_problem(model, data, length=T, count=count)
    from ..modelstudy import strategy_rows
    from ..report.model import Column, Table

    with bad_input(validating=False):
        rows = strategy_rows(problem, taus=sorted(taus), pis=sorted(pis), rng=args.seed)
    table = Table(
        columns=(Column("strategy", "strategy", kind="text"), Column("relative_bias", "relative bias"),
                 Column("relative_variance", "relative variance"), Column("relative_mse", "relative MSE"),
                 Column("backward_steps", "backward steps")),
        rows=tuple(rows),
        caption=f"{model.describe()} on {data.source}: {count} windows of {T} steps as one batch; exact bias, "
                "variance (Hutchinson trace for randomized truncation) and expected cost.",
    )
    from .commands import print_table

    return print_table(table, args.format)
