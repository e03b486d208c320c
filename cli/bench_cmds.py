"""`baaskit bench`: throughput, latency and cost of a 4-node cluster against the verification bound."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from .errors import CliError


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("bench", help="benchmark a local cluster (fresh by default)")
    p.add_argument("--dir", type=Path, help="benchmark the running cluster in DIR instead of a fresh one")
    p.add_argument("--rate", type=float, action="append", help="open-loop offered tx/s (repeatable); default: 1000 and max")
    p.add_argument("--max", action="store_true", help="closed loop at maximum (default when no --rate)")
    p.add_argument("--duration", type=float, default=10.0, help="seconds of load per run (default 10)")
    p.add_argument("--batch", type=int, default=0, help="txs per Submit call (default: rate/100, 500 at max)")
    p.add_argument("--concurrency", type=int, default=8, help="Submit calls in flight")
    p.add_argument("--window", type=int, default=4000, help="closed loop: txs submitted and not yet committed")
    p.add_argument("--fault", choices=["kill-primary"], help="kill the primary during the load (the --rate runs, or the --max run when given)")
    p.add_argument("--sweep", metavar="PNG", type=Path, help="step the offered rate and plot latency vs throughput")
    p.add_argument("--sweep-rates", default="250,500,1000,1500,2000,2500,3000,4000")
    p.add_argument("--clients-per-member", type=int, default=8)
    p.add_argument("--extras", action="store_true", help="also measure aggregation docs/s and receipt verification")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from baaskit.bench import cluster as bench_cluster
    from baaskit.bench.bound import measure_bound
    from baaskit.bench.report import format_report
    from baaskit.bench.runner import RunSpec, run_load
    from baaskit.bench.targets import judge
    from baaskit.node.cluster import ClusterError

    if args.duration <= 0 or args.concurrency <= 0:
        raise CliError("--duration and --concurrency must be positive", 2)

    def say(msg: str) -> None:
        if not args.json:
            print(msg, file=sys.stderr)

    tmp = None
    try:
        if args.dir:
            bc = bench_cluster.existing(args.dir)
        else:
            tmp = tempfile.TemporaryDirectory(prefix="baaskit-bench-")
            say("starting a fresh 4-node cluster")
            bc = bench_cluster.start_fresh(Path(tmp.name) / "cluster", args.clients_per_member, lambda m: say("  " + m))
    except ClusterError as exc:
        raise CliError(str(exc)) from None
    try:
        say("measuring the Ed25519 verification bound")
        b = measure_bound(nodes=len(bc.endpoints))
        specs: list[RunSpec] = []
        rates = args.rate or ([] if args.max else [1000.0])
        for rate in rates:
            if rate <= 0:
                raise CliError("--rate must be positive", 2)
            specs.append(
                RunSpec(rate, args.duration, args.batch or max(1, int(rate / 100)), 64, fault=args.fault if not args.max else None)
            )
        if args.max or not args.rate:
            specs.append(RunSpec(None, args.duration, args.batch or 250, args.concurrency, fault=args.fault, window=args.window))
        runs: list[dict[str, Any]] = []
        for spec in specs:
            say(f"load: {'max (closed loop)' if spec.rate is None else f'{spec.rate:.0f} tx/s open loop'} for {spec.duration_s:.0f} s"
                + (f", {spec.fault} after {spec.fault_at_s:.0f} s" if spec.fault else ""))
            runs.append(run_load(bc, spec, show_progress=not args.json))
        sweep = None
        if args.sweep:
            from baaskit.bench.sweep import plot, run_sweep

            rates = [float(x) for x in args.sweep_rates.split(",") if x]
            sweep = run_sweep(bc, rates, args.duration, say)
            plot(sweep, args.sweep)
            say(f"sweep plot written to {args.sweep}")
        extras: dict[str, Any] = {}
        if args.extras:
            from baaskit.bench.offline import measure_offline

            extras = measure_offline()
        say("measuring the Ed25519 verification bound again, after the load")
        b = measure_bound(nodes=len(bc.endpoints), earlier=b)
        bound = b.to_json()
    finally:
        bc.stop()
        if tmp is not None:
            tmp.cleanup()
    if args.json:
        targets = [v.to_json() for v in judge(bound, runs, extras)]
        print(json.dumps({"bound": bound, "runs": runs, "sweep": sweep, "extras": extras, "targets": targets},
                         indent=2, default=str))
    else:
        print(format_report(bound, runs, extras))
        if sweep:
            print("\nsweep (offered -> committed tx/s, p50/p99 ms):")
            for point in sweep:
                print(f"  {point['offered']:>6.0f} -> {point['committed_tx_per_s']:>7.0f}  p50 {point['p50']:.1f}  p99 {point['p99']:.1f}")
    return 0
