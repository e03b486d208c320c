"""`baaskit init | up | status | down | logs | node`: run a local cluster or one node."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .errors import CliError

DEFAULT_DIR = ".baaskit/cluster"


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("init", help="generate a consortium: CA, keys, certificates, genesis, node configs")
    p.add_argument("--dir", default=DEFAULT_DIR, help=f"cluster folder (default {DEFAULT_DIR})")
    p.add_argument("--members", default=None, help="comma-separated member names (default 4 sample members)")
    p.add_argument("--base-port", type=int, default=None, help="first port; member i uses base+2i (API) and base+2i+1 (peer)")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("up", help="start a local 4-node cluster (init if needed), wait for a commit")
    p.add_argument("--dir", default=DEFAULT_DIR)
    p.add_argument("--base-port", type=int, default=None, help="first port, used when `up` initialises the cluster")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for health and a commit")
    p.set_defaults(func=cmd_up)

    p = sub.add_parser("status", help="status table of the local cluster")
    p.add_argument("--dir", default=DEFAULT_DIR)
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("down", help="stop the local cluster's nodes (by the PIDs in their pidfiles)")
    p.add_argument("--dir", default=DEFAULT_DIR)
    p.set_defaults(func=cmd_down)

    p = sub.add_parser("logs", help="show node logs")
    p.add_argument("member", nargs="?", default=None, help="member name or index (default: all)")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    p.add_argument("-n", "--lines", type=int, default=40)
    p.add_argument("--dir", default=DEFAULT_DIR)
    p.set_defaults(func=cmd_logs)

    p = sub.add_parser("node", help="run one node from its config (foreground)")
    p.add_argument("--config", required=True, help="the node's TOML config")
    p.set_defaults(func=cmd_node)


def _progress(msg: str) -> None:
    print(f"  {msg}", flush=True)


def _cluster():  # type: ignore[no-untyped-def]
    from baaskit.node import cluster

    return cluster


def cmd_init(args: argparse.Namespace) -> int:
    cluster = _cluster()
    from baaskit.node.consortium import DEFAULT_BASE_PORT, DEFAULT_NAMES

    root = Path(args.dir)
    members = [m.strip() for m in args.members.split(",")] if args.members else list(DEFAULT_NAMES)
    try:
        cluster.init_cluster(root, members, args.base_port or DEFAULT_BASE_PORT)
    except cluster.ClusterError as exc:
        raise CliError(str(exc)) from None
    print(f"consortium of {len(members)} members written to {root}")
    print(f"  genesis: {root / 'genesis.json'}")
    print(f"  node configs: {root / 'nodes'}/<member>/node.toml   (run one: baaskit node --config FILE)")
    print(f"  client keys: {root / 'clients'}")
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    cluster = _cluster()
    root = Path(args.dir)
    t0 = time.monotonic()
    try:
        if not cluster.is_initialised(root):
            print(f"initialising a 4-member consortium in {root}", flush=True)
            from baaskit.node.consortium import DEFAULT_BASE_PORT

            cluster.init_cluster(root, base_port=args.base_port or DEFAULT_BASE_PORT)
        print("starting nodes", flush=True)
        cluster.start(root, _progress)
        print("waiting until every node serves", flush=True)
        cluster.wait_healthy(root, args.timeout, _progress)
        print("submitting a probe transaction and waiting for its commit", flush=True)
        pos = cluster.submit_probe(root, args.timeout)
        _progress(f"committed at height {pos.height} ({time.monotonic() - t0:.1f}s since `up`)")
        print(cluster.format_table(cluster.status_rows(root)))
    except cluster.ClusterError as exc:
        raise CliError(str(exc)) from None
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    cluster = _cluster()
    try:
        rows = cluster.status_rows(Path(args.dir))
    except cluster.ClusterError as exc:
        raise CliError(str(exc)) from None
    print(cluster.format_table(rows))
    return 0 if all(r.status is not None for r in rows) else 3


def cmd_down(args: argparse.Namespace) -> int:
    cluster = _cluster()
    try:
        n = cluster.stop(Path(args.dir), _progress)
    except cluster.ClusterError as exc:
        raise CliError(str(exc)) from None
    print(f"stopped {n} node(s)")
    return 0


def cmd_logs(args: argparse.Namespace) -> int:
    cluster = _cluster()
    try:
        files = cluster.log_file(Path(args.dir), args.member)
    except cluster.ClusterError as exc:
        raise CliError(str(exc)) from None
    positions: dict[Path, int] = {}
    for name, path in files:
        try:
            text = path.read_text(errors="replace")
        except OSError:
            text = ""
        for line in text.splitlines()[-args.lines :]:
            print(f"{name}| {line}" if len(files) > 1 else line)
        positions[path] = len(text.encode())
    if not args.follow:
        return 0
    try:
        while True:
            for name, path in files:
                try:
                    with open(path, "rb") as fh:
                        fh.seek(positions.get(path, 0))
                        chunk = fh.read()
                except OSError:
                    continue
                if chunk:
                    positions[path] = positions.get(path, 0) + len(chunk)
                    for line in chunk.decode(errors="replace").splitlines():
                        print(f"{name}| {line}" if len(files) > 1 else line, flush=True)
            time.sleep(0.3)
    except KeyboardInterrupt:
        return 0


def cmd_node(args: argparse.Namespace) -> int:
    from baaskit.node.config import ConfigError, load_config
    from baaskit.node.server import NodeStartError, serve_forever

    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        raise CliError(str(exc), exit_code=2) from None
    print(f"baaskit node {cfg.name} (member {cfg.member}) starting; log: {cfg.log_file}", file=sys.stderr, flush=True)
    try:
        serve_forever(cfg, verbose=getattr(args, "verbose", False))
    except NodeStartError as exc:
        raise CliError(str(exc), exit_code=3) from None
    return 0
