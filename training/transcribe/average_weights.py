"""Average several transcriber weight files of one architecture into one (a "model soup").

Snapshots of one run, or a model and a fine-tune of it, lie in one basin of the loss; their
uniform average is often better than each (Izmailov et al. 2018, stochastic weight averaging;
Wortsman et al. 2022, model soups) and costs nothing at inference. Floating-point tensors,
batch-norm running statistics included, are averaged; integer ones (batch counters) are taken
from the first file. The result is a registry-format checkpoint that ``reamend bench transcribe
--weights`` and ``--tune --weights`` accept.

    python training/transcribe/average_weights.py OUT.pt IN1.pt IN2.pt [...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from models.registry import load_checkpoint_file, save_checkpoint  # noqa: E402


def average(paths: list[Path], out: Path) -> None:
    payloads = [load_checkpoint_file(p) for p in paths]
    first = payloads[0]
    for path, payload in zip(paths[1:], payloads[1:], strict=True):
        if payload["arch"] != first["arch"] or payload["config"] != first["config"]:
            raise SystemExit(f"{path}: another architecture or configuration than {paths[0]}")
    state = {}
    for name, tensor in first["state_dict"].items():
        if tensor.is_floating_point():
            state[name] = sum(p["state_dict"][name] for p in payloads) / len(payloads)
        else:
            state[name] = tensor.clone()
    save_checkpoint(out, first["arch"], first["config"], state,
                    averaged_from=[str(p) for p in paths])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("inputs", type=Path, nargs="+")
    args = parser.parse_args()
    if len(args.inputs) < 2:
        parser.error("give at least two weight files to average")
    average(args.inputs, args.out)
    print(f"wrote {args.out}: the average of {len(args.inputs)} files")


if __name__ == "__main__":
    main()
