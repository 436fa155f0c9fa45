"""`python -m training --config configs/training/X.yaml [key=value ...]` (or under deepspeed)."""

from __future__ import annotations

import argparse
import logging
import os
import sys


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training", description=__doc__)
    p.add_argument("--config", help="a YAML file in configs/training/")
    p.add_argument("--local_rank", "--local-rank", type=int, default=None,
                   help=argparse.SUPPRESS)  # passed by the deepspeed launcher
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("overrides", nargs="*", help="key=value (dotted keys), e.g. train.max_steps=20")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from training.offline import deepspeed_on_cpu_when_no_accelerator, stay_offline

    stay_offline()
    deepspeed_on_cpu_when_no_accelerator()
    from training.config import ConfigError, load_config

    try:
        config = load_config(args.config, args.overrides)
        from training.recipe import run

        summary = run(config, progress=not args.quiet)
    except (ConfigError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: run the same command again to resume", file=sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get("FERRIC_DEBUG"):
            raise
        from dataset_builder.children import one_line

        print(f"error: {one_line(exc)} (FERRIC_DEBUG=1 for the traceback; "
              "re-running resumes from the last checkpoint)", file=sys.stderr)
        return 1
    failed = [k for k, ok in summary["sanity"].items() if ok is False]
    unmeasured = [k for k, ok in summary["sanity"].items() if ok is None]

    def loss(value: float | None) -> str:  # summary.json keeps the full figures
        return "-" if value is None else f"{value:.4f}"

    print(f"run folder: {config.train.output_dir} (report.md); steps {summary['steps']}, "
          f"loss {loss(summary['train_loss_first'])} -> {loss(summary['train_loss_last'])}, "
          f"eval loss {loss(summary['eval_loss'])}"
          + (f"; sanity checks failed: {', '.join(failed)}" if failed else "")
          + (f"; not measured: {', '.join(unmeasured)} (too few logged losses)"
             if unmeasured else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
