"""The ``sharpsim`` command line: ``figures``, ``bench``, ``complexity``, ``describe``, ``theorems``, ``lm``, ``docs``
and ``seminar``."""

from __future__ import annotations

import argparse
import sys


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sharpsim",
        description="Exact simulations of self-improvement by sharpening (Huang et al., ICLR 2025).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    fig = sub.add_parser(
        "figures",
        help="run the experiments and draw every figure (PNG, PDF, CSV, manifest)",
        description="Runs (or resumes) each figure's sweep and draws it. Results are written "
        "cell by cell to <out>/<name>.csv, so an interrupted run resumes where it stopped.",
    )
    fig.add_argument("--quick", action="store_true", help="fast settings (the default job, a few minutes)")
    fig.add_argument("--full", action="store_true", help="the thorough settings used for publication")
    fig.add_argument("--testing", action="store_true", help=argparse.SUPPRESS)
    fig.add_argument("--out", default="figures", help="output directory (default: figures)")
    fig.add_argument("--only", action="append", metavar="NAME", help="only this figure (repeatable)")
    fig.add_argument("--list", action="store_true", help="list the figures and exit")
    fig.add_argument("--check", action="store_true",
                     help="print each figure's fitted rate (theory, measured, both intervals, verdict) from the "
                     "CSVs in --out, computing nothing else")
    fig.add_argument("--no-progress", action="store_true", help="hide progress bars")
    fig.add_argument("--jobs", type=int, default=None, metavar="K",
                     help="figures computed at once, one process each (default: the number of CPUs; 1: in "
                     "this process, with progress bars); with a Dask executor, the figures whose cells are on "
                     "the cluster at once (default: all)")
    from sharpsim import executors

    executors.add_arguments(fig)

    bench = sub.add_parser(
        "bench",
        help="benchmark sharpsim against a plain NumPy reference in the same run (throughput ratio)",
    )
    bench.add_argument("name", help="benchmark: sft (SFT-Sharpening trials), bon (BoN picks), xpo "
                       "(XPO iterations and the Eq 8 regression solve), memory (compilations and resident memory "
                       "of an eager loop over 1000 distinct budgets) or scale (trials/s against devices, Dask "
                       "workers, |Y| and seeds)")
    bench.add_argument("--quick", action="store_true", help="smaller sizes (seconds)")
    bench.add_argument("--json", action="store_true", help="print the full result as JSON")
    from sharpsim.bench import add_arguments as add_bench_arguments

    add_bench_arguments(bench)

    comp = sub.add_parser(
        "complexity",
        help="measure the sample complexity m* of an algorithm on a problem of chosen coverage",
        description="Builds a with_coverage problem, runs the algorithm over seeds at a grid of "
        "budgets (SFT: N per prompt at fixed n; adaptive: n prompts with mu = ln(2/delta)) and "
        "prints the success rate P[err_delta <= eps] per budget and m* with its interval.",
    )
    comp.add_argument("--algorithm", required=True, choices=("sft", "adaptive"),
                      help="sft (SFT-Sharpening) or adaptive (adaptive SFT-Sharpening)")
    comp.add_argument("--prompts", type=int, default=20)
    comp.add_argument("--responses", type=int, default=64)
    comp.add_argument("--coverage", type=float, default=8.0)
    comp.add_argument("--margin", type=float, default=0.0)
    comp.add_argument("--heterogeneity", type=float, default=0.0)
    comp.add_argument("--eps", type=float, default=0.1)
    comp.add_argument("--delta", type=float, default=0.1)
    comp.add_argument("--rho", type=float, default=0.1)
    comp.add_argument("--seeds", type=int, default=100)
    comp.add_argument("--n", type=int, default=None, help="prompts for sft (default 20 |X|)")
    comp.add_argument("--seed", type=int, default=0)
    comp.add_argument("--out", default=None, help="a CSV to write per-seed rows to (resumable)")

    desc = sub.add_parser(
        "describe",
        help="build a problem with a chosen coverage and margin and print its exact coefficients",
    )
    desc.add_argument("--prompts", type=int, default=50, help="|X| (default 50)")
    desc.add_argument("--responses", type=int, default=100, help="|Y| (default 100)")
    desc.add_argument("--coverage", type=float, default=10.0, help="target C_cov (default 10)")
    desc.add_argument("--margin", type=float, default=0.0, help="minimum margin γ_margin (default 0)")
    desc.add_argument("--heterogeneity", type=float, default=0.0, help="in [0, 1] (default 0)")
    desc.add_argument("--num-argmax", type=int, default=1, help="|y*(x)| (default 1)")
    desc.add_argument("--seed", type=int, default=0)
    desc.add_argument("--beta", type=float, default=0.1, help="β for π*_β (default 0.1)")
    desc.add_argument("--delta", type=float, default=0.1, help="δ (default 0.1)")
    desc.add_argument("--rho", type=float, default=0.1, help="ρ for Prop C.1 (default 0.1)")

    docs = sub.add_parser("docs", help="the documentation site (build it: `sharpsim docs build`)")
    docs_sub = docs.add_subparsers(dest="docs_command", metavar="ACTION", required=True)
    docs_build = docs_sub.add_parser(
        "build",
        help="build the HTML site with Sphinx (warnings are errors; every lecture is executed)",
        description="Generates the build-only pages (theory notes, figures gallery, API reference) into "
        "docs/_generated/ and runs sphinx-build -W --keep-going -E, offline. Needs the docs and teach extras.",
    )
    docs_build.add_argument("--out", default=None, help="output folder (default: docs/_build/html)")
    docs_build.add_argument("--jobs", type=int, default=1, metavar="K", help="Sphinx's parallel readers (default 1)")

    seminar = sub.add_parser("seminar", help="the seminar's notebooks (the students' export)")
    seminar_sub = seminar.add_subparsers(dest="seminar_command", metavar="ACTION", required=True)
    export = seminar_sub.add_parser(
        "export",
        help="write the students' notebooks: one .ipynb per lecture, solutions removed, stubs kept, no outputs",
    )
    export.add_argument("--out", required=True, help="output folder (created if missing)")
    export.add_argument("--source", default=None, help="folder of the lectures (default: docs/seminar)")

    thm = sub.add_parser(
        "theorems",
        help="the paper's results as objects: list them, show one, check its assumptions on an instance, "
        "evaluate its conclusion, search for a counterexample",
        description="Without an action: the registered theorems. `check`/`verify` build an instance "
        "(problems.with_coverage; Prop 3.1: problems.planted_autoregressive; Prop E.2: problems.prop_e2_instance; "
        "Thm 3.1: problems.lower_bound_family; Thm 4.3: problems.hidden_direction) and print the assumption report "
        "and the promise (verify: and the conclusion, exactly or by sampling).",
    )
    thm_sub = thm.add_subparsers(dest="theorems_command", metavar="ACTION")
    thm_sub.add_parser("list", help="the registered theorems (the default)")
    show = thm_sub.add_parser("show", help="a theorem's statement, assumptions and parameters")
    show.add_argument("id", help='the id as the paper prints it, e.g. "Prop C.1"')
    for name, text in (("check", "the assumption report and the promise on an instance"),
                       ("verify", "the assumption report, the promise and the conclusion (exact) on an instance")):
        cmd = thm_sub.add_parser(name, help=text)
        cmd.add_argument("id", help='the id, e.g. "Prop C.1"')
        cmd.add_argument("--prompts", type=int, default=20, help="|X| (default 20)")
        cmd.add_argument("--responses", type=int, default=100, help="|Y| (default 100)")
        cmd.add_argument("--coverage", type=float, default=8.0, help="target C_cov (default 8)")
        cmd.add_argument("--margin", type=float, default=0.0, help="minimum margin γ_margin (default 0)")
        cmd.add_argument("--heterogeneity", type=float, default=0.0, help="in [0, 1] (default 0)")
        cmd.add_argument("--vocab", type=int, default=2, help="V for Prop 3.1's autoregressive problem (default 2)")
        cmd.add_argument("--horizon", type=int, default=4, help="H for Prop 3.1's autoregressive problem (default 4)")
        cmd.add_argument("--seed", type=int, default=0)
        cmd.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                         help="a parameter of the theorem (repeatable), e.g. --param N=8 --param rho=0.1")
        cmd.add_argument("--decoys", type=int, default=3,
                         help="Thm 4.1, Thm D.1, Thm 4.2: the class is classes.decoy_product_class with this many "
                         "decoys per prompt, around π_base (Thm 4.2: around π*_β, as a finite class) (default 3)")
        cmd.add_argument("--hard-prompts", type=int, default=4,
                         help="Thm 3.1: d, the hard prompts of the App H family (problems.lower_bound_family; "
                         "its C is --coverage and its ε the parameter eps, default 0.04) (default 4)")
        cmd.add_argument("--dim", type=int, default=3,
                         help="Thm 4.3: d of problems.hidden_direction (|Y| is --responses) (default 3)")
        cmd.add_argument("--bias", type=float, default=1.0, help="Thm 4.3: the arg-max's logit (default 1)")
        cmd.add_argument("--radius", type=float, default=50.0,
                         help="Thm 4.3: the linear-softmax class's radius B (default 50)")
        cmd.add_argument("--seeds", type=int, default=200, help="runs of a statistical verify (default 200)")
    fal = thm_sub.add_parser("falsify", help="search (hypothesis) for an instance where the conclusion fails")
    fal.add_argument("id", help='the id, e.g. "Prop 3.1"')
    fal.add_argument("--drop", default=None, metavar="NAME", help="the assumption to leave free")
    fal.add_argument("--max-examples", type=int, default=None,
                     help="instances tried at most (default 200 for an exact statement, 4 for a statistical one)")
    fal.add_argument("--seeds", type=int, default=50, help="runs per sampled verification (statistical; default 50)")
    fal.add_argument("--seed", type=int, default=0)

    from sharpsim.bridge import cli as lm_cli  # torch-free: subcommands import torch when run

    lm_cli.add_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Runs the ``sharpsim`` command line.

    Args:
      argv: the arguments (without the program name); ``None`` reads ``sys.argv``.

    Returns:
      The exit status: 0 on success, 2 when a command fails on bad input (the error is printed
      to stderr as ``sharpsim COMMAND: error: ...``), 1 when ``sharpsim docs build`` fails.

    Raises:
      SystemExit: from argument parsing (``--help``, an unknown command or option).
    """
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        if args.command == "figures":
            return _figures(args)
        if args.command == "bench":
            return _bench(args)
        if args.command == "complexity":
            return _complexity(args)
        if args.command == "docs":
            return _docs(args)
        if args.command == "seminar":
            return _seminar(args)
        if args.command == "theorems":
            return _theorems(args)
        if args.command == "lm":
            from sharpsim.bridge import cli as lm_cli

            return lm_cli.main(args)
        return _describe(args)
    except (ValueError, FileNotFoundError) as err:
        print(f"sharpsim {args.command}: error: {err}", file=sys.stderr)
        return 2


def _figures(args) -> int:
    from sharpsim import figures

    if args.list:
        for name, module in figures.FIGURES.items():
            print(f"{name:20s} {module.DESCRIPTION}")
        return 0
    chosen = [m for m in ("quick", "full", "testing") if getattr(args, m)]
    if len(chosen) > 1:
        raise ValueError(f"choose one of --quick, --full; got {['--' + m for m in chosen]}")
    mode = chosen[0] if chosen else "quick"
    if args.check:
        table = figures.check(out=args.out, mode=mode)
        widths = [max(len(str(r[i])) for r in [figures.RATE_COLUMNS, *table]) for i in range(len(figures.RATE_COLUMNS))]
        for r in [figures.RATE_COLUMNS, *table]:
            print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())
        return 0
    from sharpsim import executors

    with executors.from_args(args) as executor:
        jobs = figures.default_jobs(executor) if args.jobs is None else args.jobs
        figures.generate(args.only, out=args.out, mode=mode, progress=not args.no_progress, jobs=jobs,
                         executor=executor)
    return 0


def _docs(args) -> int:
    from sharpsim import site

    try:
        out = site.build(args.out, jobs=args.jobs)
    except (site.BuildError, ImportError) as err:
        print(f"sharpsim docs: error: {err}", file=sys.stderr)
        return 1
    print(f"the site is in {out} (open {out / 'index.html'})")
    return 0


def _seminar(args) -> int:
    from sharpsim import seminar

    written = seminar.export(args.out, source=args.source)
    for path in written:
        print(path)
    print(f"{len(written)} students' notebook(s) written to {args.out}")
    return 0


def _bench(args) -> int:
    from sharpsim import bench

    return bench.run_cli(args)


def _complexity(args) -> int:
    from sharpsim.experiments import complexity

    config = {"command": "complexity", **{k: val for k, val in vars(args).items() if k not in ("command", "out")}}
    measured = complexity.measure(
        args.algorithm, num_prompts=args.prompts, num_responses=args.responses, coverage=args.coverage,
        margin=args.margin, heterogeneity=args.heterogeneity, eps=args.eps, delta=args.delta, rho=args.rho,
        num_seeds=args.seeds, n=args.n, seed=args.seed, csv_path=args.out, config=config,
    )
    print(complexity.report(measured))
    return 0


def _parse_params(pairs: list[str]) -> dict:
    params = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ValueError(f"--param must look like NAME=VALUE; got {pair!r}")
        try:
            params[name] = int(value)
        except ValueError:
            try:
                params[name] = float(value)
            except ValueError as err:
                raise ValueError(f"--param {name}: {value!r} is not a number") from err
    return params


def _theorems(args) -> int:
    import jax

    from sharpsim import testing, theorems

    try:
        if args.theorems_command in (None, "list"):
            for t in theorems.all():
                print(f"{t.id:14s} {t.kind:11s} {t.title}")
            return 0
        thm = theorems.get(args.id)
        if args.theorems_command == "show":
            print(thm)
            return 0
        if args.theorems_command == "falsify":
            found = testing.falsify(thm, drop=args.drop, max_examples=args.max_examples, seed=args.seed,
                                    num_seeds=args.seeds)
            tried = args.max_examples or (200 if thm.kind == "exact" else 4)
            print(found if found is not None else
                  f"no counterexample to {thm.id} in {tried} instances"
                  + (f" with {args.drop} dropped" if args.drop else " with every assumption kept"))
            return 0
    except KeyError as err:
        raise ValueError(err.args[0]) from None
    except NotImplementedError as err:
        raise ValueError(str(err)) from None
    problem, params = _theorem_instance(thm, args)
    if args.theorems_command == "check":
        print(thm.check(problem, **params))
    else:
        verdict = thm.verify(problem, key=jax.random.fold_in(jax.random.key(args.seed), 2), num_seeds=args.seeds,
                             **params)
        print(verdict.report)
        print(verdict)
    return 0


def _theorem_instance(thm, args):
    """The problem and parameters ``sharpsim theorems check|verify`` builds for ``thm``."""
    import jax

    import sharpsim as ss
    from sharpsim import bounds, classes, problems

    key = jax.random.key(args.seed)
    params = _parse_params(args.param)
    if thm.id == "Prop 3.1":
        problem = problems.planted_autoregressive(key, args.prompts, args.vocab, args.horizon, args.coverage,
                                                  margin=args.margin, heterogeneity=args.heterogeneity)
    elif thm.id == "Prop E.2":
        problem, params["model_class"], _ = problems.prop_e2_instance(max(args.vocab, 3))
        print(f"instance: problems.prop_e2_instance(n = {max(args.vocab, 3)}) and its Eq 11 class")
    elif thm.id == "Thm 3.1":
        params.setdefault("eps", 0.04)
        params["C"] = args.coverage
        fam = problems.lower_bound_family(key, d=args.hard_prompts, C=args.coverage, eps=params["eps"])
        problem, params["model_class"] = fam.problem, fam.model_class
        print(f"instance: a member of the App H family (d = {args.hard_prompts}, M = {fam.M}, "
              f"log|Π| = {fam.log_size:.4g}) and the family's class")
    elif thm.id == "Thm 4.3":
        problem, features = problems.hidden_direction(args.dim, args.responses, bias=args.bias, key=key)
        params["model_class"] = classes.LinearSoftmaxClass(features, args.radius)
        print(f"instance: problems.hidden_direction(d = {args.dim}, |Y| = {args.responses}, bias = {args.bias:g}) "
              f"and the linear-softmax class of radius {args.radius:g}")
    else:
        problem = problems.with_coverage(key, args.prompts, args.responses, args.coverage, margin=args.margin,
                                         heterogeneity=args.heterogeneity)
    if thm.id in ("Thm 4.1", "Thm D.1"):
        params["model_class"] = classes.decoy_product_class(jax.random.fold_in(key, 1), problem, args.decoys)
        print(f"model class: the base and {args.decoys} decoys per prompt (classes.decoy_product_class)")
    elif thm.id == "Thm 4.2":
        margin = params.get("margin", ss.margin(problem))
        if not margin > 0:
            raise ValueError("Thm 4.2 needs a margin > 0: pass --margin (the problem's) or --param margin=VALUE")
        delta, eps = params.get("delta", thm.defaults["delta"]), params.get("eps", thm.defaults["eps"])
        beta = params.get("beta", bounds.rlhf_beta(margin, eps=eps, delta=delta))
        around = ss.kl_regularized_optimum(problem, beta)
        params["model_class"] = classes.decoy_product_class(jax.random.fold_in(key, 1), problem, args.decoys,
                                                            around=around).to_finite()
        print(f"model class: π*_β (β = {beta:.4g}) and {args.decoys} decoys per prompt, as a finite class")
    return problem, params


def _describe(args) -> int:
    import jax

    import sharpsim as ss
    from sharpsim import bounds, problems

    problem = problems.with_coverage(
        jax.random.key(args.seed),
        args.prompts,
        args.responses,
        args.coverage,
        margin=args.margin,
        heterogeneity=args.heterogeneity,
        num_argmax=args.num_argmax,
    )
    base = problem.base
    top = base.mass(base.argmax_set())
    opt = ss.kl_regularized_optimum(problem, args.beta)
    n_needed = bounds.bon_inference(problem, rho=args.rho)
    beta_lemma = bounds.margin_lemma_beta(ss.margin(problem), args.responses, delta=args.delta)
    lines = [
        ("prompts |X|, responses |Y|", f"{problem.num_prompts}, {problem.num_responses}"),
        ("coverage C_cov (Eq 6)", f"{ss.coverage(problem):.10g}"),
        ("C_cov,γ=0.1", f"{ss.coverage(problem, gamma=0.1):.10g}"),
        ("C_cov,p=2", f"{ss.coverage(problem, p=2):.10g}"),
        ("adaptive coverage C̄_cov (App D)", f"{ss.adaptive_coverage(problem):.10g}"),
        ("margin γ_margin (Assumption 4.2)", f"{ss.margin(problem):.10g}"),
        ("R_max (Assumption 4.5)", f"{ss.r_max(problem):.10g}"),
        ("π_base(y*|x): min / mean_μ / max", f"{float(top.min()):.4g} / {float(problem.prompt_probs @ top):.4g} / {float(top.max()):.4g}"),
        ("|y*(x)|: min / max", f"{int(base.num_argmax().min())} / {int(base.num_argmax().max())}"),
        (f"C_π*_β (Eq 9, β={args.beta:g})", f"{ss.concentrability(problem, opt):.6g}  (Lemma 4.1: <= C_cov)"),
        (f"C_π_base/π*_β;β (β={args.beta:g})", f"{ss.power_concentrability(problem, base, opt, beta=args.beta):.6g}  (Lemma 4.1: <= |Y|)"),
        (f"err_δ(π*_β), δ={args.delta:g}", f"{ss.sharpening_error(problem, opt, delta=args.delta):.6g}"),
        (f"Prop C.1 N for ρ={args.rho:g}: max_x", f"{float(n_needed.max()):.6g}"),
        ("β ≤ γ/(2 log(2|Y|/δ)) (margin lemma)", f"{beta_lemma:.6g}"),
    ]
    width = max(len(k) for k, _ in lines)
    for k, val in lines:
        print(f"{k:<{width}}  {val}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
