"""What ``--resume`` may change in a run's settings, and how the changes it is allowed to make are recorded.

A resumed run that silently took a new learning rate, model, corpus or reward would record (in RUN/config.yaml) one
set of settings for a run trained under two. As HF Trainer and torchtune do, a resume may freely change only how the
run is paced and watched (the steps of a stage not yet finished, logging/eval/save/sample cadence, threads, tracker);
anything else is refused unless ``--resume-with-changes`` asks for it, and then each change is kept with the step from
which it holds (``resume_changes`` in RUN/config.yaml and in the checkpoints, and a warning in RUN/train.log).
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Any

import yaml

from seq2seq2seq.checkpoint import CheckpointError
from seq2seq2seq.config import LEGACY_REWARD_KEYS, RESUME_CHANGES, ConfigError, TrainConfig, load_config

# settings that pace or watch a run without changing what it learns
FREE_KEYS = frozenset({"log_every", "eval_every", "save_every", "sample_every", "keep_checkpoints", "num_threads",
                       "report_to"})
IGNORED_KEYS = frozenset({"output_dir"})  # a copied or moved run resumes where it is now (train.cli._run_folder_of)
FLAG = "--resume-with-changes"
REWARDS_KEY = "adversarial.rewards"


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"adversarial": {"lr_g": 1e-3}}`` -> ``{"adversarial.lr_g": 1e-3}``."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def normalised(settings: dict[str, Any]) -> dict[str, Any]:
    """Recorded settings as this version writes them: read through the config loader, so that the same run spelled
    by an older version (adversarial.reconstruction_weight ... before adversarial.rewards) compares equal. Settings
    the loader refuses are compared as recorded."""
    try:
        return load_config(overrides=settings).to_dict()
    except ConfigError:
        return settings


def recorded_settings(state: dict[str, Any], run_dir: Path) -> dict[str, Any] | None:
    """The settings the checkpoint was trained under, flattened: its own copy, or (a checkpoint written before
    checkpoints held one) RUN/config.yaml; None when neither is there."""
    if isinstance(state.get("config"), dict):
        return flatten(normalised(state["config"]))
    try:
        data = yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    data.pop(RESUME_CHANGES, None)
    return flatten(normalised(data))


def _same(old: Any, new: Any) -> bool:
    """Equal, or two spellings (relative, absolute) of one existing path."""
    if old == new:
        return True
    if isinstance(old, str) and isinstance(new, str) and old and new and os.path.exists(old) and os.path.exists(new):
        return os.path.samefile(old, new)
    return False


def restricted_changes(old: dict[str, Any], cfg: TrainConfig, stage: str,
                       stages: tuple[str, ...]) -> list[tuple[str, Any, Any]]:
    """(key, old, new) for each setting that differs from the recorded ``old`` and that a plain resume may not
    change; the steps of ``stage`` (the checkpoint's) and of the stages after it are free."""
    free = FREE_KEYS | IGNORED_KEYS | {f"{s}.steps" for s in stages[stages.index(stage):]}
    new = flatten(cfg.to_dict())
    changes = []
    for key, value in new.items():
        if key in old and key not in free and not _same(old[key], value):
            per_reward = _reward_changes(old[key], value) if key == REWARDS_KEY else None
            changes.extend([(key, old[key], value)] if per_reward is None else per_reward)
    return changes


def _reward_changes(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[tuple[str, Any, Any]] | None:
    """A change of adversarial.rewards as the per-reward keys that say it (adversarial.headline_weight 0.3 -> 0.9),
    which the command line also takes: none when the lists differ only in rewards of weight 0, None when no such
    keys say it all (the weighted rewards in another order, a reward without its key)."""
    entries = [{e.get("name"): e for e in entries if isinstance(e, dict)} for entries in (old, new)]
    weighted = [[name for name, e in side.items() if e.get("weight", 0.0) > 0] for side in entries]
    if [n for n in weighted[0] if n in weighted[1]] != [n for n in weighted[1] if n in weighted[0]]:
        return None  # the same rewards summed in another order
    changes = []
    for name in dict.fromkeys([*entries[0], *entries[1]]):
        for part, default in (("weight", 0.0), ("model", "")):
            was, now = (side.get(name, {}).get(part, default) for side in entries)
            if _same(was, now):
                continue
            if LEGACY_REWARD_KEYS.get(f"{name}_{part}") != (name, part):
                return None
            changes.append((f"adversarial.{name}_{part}", was, now))
    return changes


def cli_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):  # adversarial.rewards: as the YAML flow the command line reads back, no empty model
        entries = [{k: v for k, v in e.items() if v != ""} if isinstance(e, dict) else e for e in value]
        value = yaml.safe_dump(entries, default_flow_style=True, sort_keys=False, width=1 << 20).strip()
    return shlex.quote(value) if isinstance(value, str) else str(value)


def check_changes(changes: list[tuple[str, Any, Any]], path: Path, state: dict[str, Any], allowed: bool) -> None:
    """Refuse ``changes`` (from :func:`restricted_changes`) unless ``--resume-with-changes`` was given."""
    if not changes or allowed:
        return
    listed = "; ".join(f"{key} {cli_value(old)} -> {cli_value(new)}" for key, old, new in changes)
    keep = " ".join(f"--{key} {cli_value(old)}" for key, old, _ in changes)
    raise CheckpointError(
        f"{path} was trained with other settings than this command gives: {listed}. A resume may change only the "
        f"steps of unfinished stages, {', '.join(sorted(FREE_KEYS))}. Pass {keep} to continue the run as it was "
        f"trained, add {FLAG} to apply the new values from {state['stage']} step {state['step']} on (recorded in "
        f"config.yaml and train.log), or start a new run (--output_dir NEW)")


def change_records(changes: list[tuple[str, Any, Any]], state: dict[str, Any]) -> list[dict[str, Any]]:
    """What RUN/config.yaml's ``resume_changes`` lists: each new value holds from ``stage`` step ``step`` on."""
    return [{"step": state["step"], "stage": state["stage"], "global_step": state["global_step"], "key": key,
             "old": old, "new": new} for key, old, new in changes]


def describe(record: dict[str, Any]) -> str:
    return (f"{FLAG}: {record['key']} changes from {cli_value(record['old'])} to {cli_value(record['new'])} at "
            f"{record['stage']} step {record['step']} (global step {record['global_step']})")
