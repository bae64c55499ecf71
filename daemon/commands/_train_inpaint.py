"""Train the inpaint gap model on synthesized music and speech (resumable)."""

from __future__ import annotations

import argparse
from pathlib import Path

from daemon.console import CliContext, mapping_table

DEFAULT_CHECKPOINT = Path(__file__).resolve().parents[2] / "training" / "inpaint" / "last.pt"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from models.inpaint.train import TrainConfig

    defaults = TrainConfig()
    parser.add_argument("--steps", type=int, default=defaults.steps, help="total optimizer steps")
    parser.add_argument("--batch", type=int, default=defaults.batch)
    parser.add_argument("--music-clips", type=int, default=defaults.music_clips, help="rendered 20 s music clips")
    parser.add_argument("--speech-clips", type=int, default=defaults.speech_clips)
    parser.add_argument("--freepats-clips", type=int, default=defaults.freepats_clips,
                        help="20 s clips of generated music on the FreePats pianos (TiMidity++) added to the music")
    parser.add_argument("--mda-clips", type=int, default=defaults.mda_clips,
                        help="20 s clips of generated music on the mda Piano (SuperCollider, a random voicing per "
                             "clip) added to the music")
    parser.add_argument("--band-limit-share", type=float, default=defaults.band_limit_share,
                        help="share of speech examples seen band-limited as at 16 or 8 kHz (music: a quarter)")
    parser.add_argument("--power-weight", type=float, default=defaults.power_weight,
                        help="weight of the loss on each band's mean power over the gap (0: log magnitudes only); "
                             "pulls fills toward the loudness of what they replace")
    parser.add_argument("--ssim-weight", type=float, default=defaults.ssim_weight,
                        help="weight of a structural-similarity loss on log band energies around the gap "
                             "(0: off); rewards the local contrast that a log-magnitude loss smooths away")
    parser.add_argument("--adversarial-weight", type=float, default=defaults.adversarial_weight,
                        help="weight of an adversarial term from a band-spectrogram discriminator (0: off)")
    parser.add_argument("--janssen-input", action="store_true",
                        help="show the network a Janssen AR fill of short gaps (a checkpoint trained without one is "
                             "widened, its new inputs starting at zero; needs a new stage: --schedule-from)")
    parser.add_argument("--janssen-max-ms", type=float, default=1000 * defaults.janssen_max_gap_s,
                        help="longest training gap shown a Janssen fill")
    parser.add_argument("--lr", type=float, default=defaults.lr, help="peak learning rate of this stage")
    parser.add_argument("--schedule-from", type=int, default=defaults.schedule_from,
                        help="step where this stage's one-cycle schedule starts (a later stage resumed from the "
                             "checkpoint warms up and anneals again up to --steps)")
    parser.add_argument("--min-gap-ms", type=float, default=1000 * defaults.min_gap_s,
                        help="shortest training gap (fine-tune on a range of lengths by resuming with another)")
    parser.add_argument("--max-gap-ms", type=float, default=1000 * defaults.max_gap_s, help="longest training gap")
    parser.add_argument("--max-minutes", type=float, default=None, help="stop (and save) after this long")
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT, help="resumable training state")
    parser.add_argument("--weights-out", type=Path, default=None,
                        help="final weights (default: models/weights/inpaint-gapnet.pt + manifest entry)")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from models.inpaint.train import TrainConfig, train

    config = TrainConfig(steps=args.steps, batch=args.batch, music_clips=args.music_clips,
                         speech_clips=args.speech_clips, freepats_clips=args.freepats_clips,
                         mda_clips=args.mda_clips, lr=args.lr,
                         band_limit_share=args.band_limit_share, power_weight=args.power_weight,
                         ssim_weight=args.ssim_weight, adversarial_weight=args.adversarial_weight,
                         schedule_from=args.schedule_from, min_gap_s=args.min_gap_ms / 1000,
                         max_gap_s=args.max_gap_ms / 1000, janssen_input=args.janssen_input,
                         janssen_max_gap_s=args.janssen_max_ms / 1000)
    with ctx.progress("train inpaint") as progress:
        result = train(config, checkpoint=args.checkpoint, weights_out=args.weights_out, progress=progress,
                       max_minutes=args.max_minutes)
    ctx.emit(result, lambda: ctx.out.print(mapping_table("train inpaint", result)))
    return 0
