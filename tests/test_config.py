"""Typed config: defaults, YAML files, command-line overrides, fix-it error messages, the train CLI's config path."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from seq2seq2seq.config import (
    AdversarialConfig,
    ConfigError,
    DecodingConfig,
    ModelConfig,
    RewardSpec,
    TrainConfig,
    config_to_yaml,
    load_config,
    parse_overrides,
)

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = sorted((ROOT / "scripts" / "configs").glob("*.yaml"))


def test_defaults_validate():
    cfg = load_config()
    assert cfg == TrainConfig()
    assert cfg.adversarial.baseline == "greedy" and cfg.adversarial.num_samples == 1
    assert cfg.model.d_model % cfg.model.attention_heads == 0
    assert 0 <= cfg.decoding.min_summary_tokens < cfg.decoding.max_summary_tokens


def test_load_config_from_yaml(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text(
        "seed: 7\n"
        "model:\n  d_model: 64\n  attention_heads: 8\n"
        "pretrain:\n  task: swap\n  lr: 5e-4\n"      # YAML 1.1 reads 5e-4 (no dot) as a string: still a float here
        "adversarial:\n  lr_g: 1\n  num_samples: 4\n  baseline: loo\n", encoding="utf-8")
    cfg = load_config(path)
    assert cfg.seed == 7
    assert (cfg.model.d_model, cfg.model.attention_heads) == (64, 8)
    assert cfg.model.encoder_layers == ModelConfig().encoder_layers  # untouched keys keep their defaults
    assert cfg.pretrain.task == "swap"
    assert cfg.pretrain.lr == 5e-4 and isinstance(cfg.pretrain.lr, float)
    assert cfg.adversarial.lr_g == 1.0 and isinstance(cfg.adversarial.lr_g, float)  # YAML int for a float field
    assert (cfg.adversarial.num_samples, cfg.adversarial.baseline) == (4, "loo")


def test_empty_yaml_file_gives_defaults(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("# nothing\n", encoding="utf-8")
    assert load_config(path) == TrainConfig()


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("seed: [1, 2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    listing = tmp_path / "list.yaml"
    listing.write_text("- 1\n- 2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(listing)


def test_parse_overrides_forms():
    overrides = parse_overrides(["--pretrain.steps", "5", "seed=3", "--adversarial.baseline=loo",
                                 "--adversarial.num-samples", "4", "--model.summarizer_init", "null"])
    assert overrides == {"pretrain": {"steps": 5}, "seed": 3,
                         "adversarial": {"baseline": "loo", "num_samples": 4},  # dashes become underscores
                         "model": {"summarizer_init": None}}


def test_overrides_apply_on_top_of_a_file(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("seed: 1\npretrain:\n  steps: 100\n  batch_size: 8\n", encoding="utf-8")
    cfg = load_config(path, parse_overrides(["--pretrain.steps", "5", "seed=3", "--adversarial.baseline=loo",
                                             "--adversarial.num_samples", "2"]))
    assert cfg.seed == 3
    assert cfg.pretrain.steps == 5
    assert cfg.pretrain.batch_size == 8  # a sibling key from the file survives the override of its section
    assert cfg.adversarial.baseline == "loo"


def test_override_without_value_or_form_is_an_error():
    with pytest.raises(ConfigError, match="no value"):
        parse_overrides(["--pretrain.steps"])
    with pytest.raises(ConfigError, match="cannot read override 'seed'"):
        parse_overrides(["seed"])


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_shipped_configs_load(path):
    cfg = load_config(path)
    assert isinstance(cfg, TrainConfig)


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_shipped_configs_start_with_their_command(path):
    # style: each YAML config starts with the exact command that runs it
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# ") and "seq2seq2seq" in first and f"configs/{path.name}" in first, first


def test_shipped_config_list_is_not_empty():
    assert any(p.name == "tiny.yaml" for p in CONFIGS)


def test_yaml_round_trip(tmp_path):
    cfg = load_config(overrides=parse_overrides(["--pretrain.task", "lead", "--decoding.source_only", "true"]))
    path = tmp_path / "dumped.yaml"
    path.write_text(config_to_yaml(cfg), encoding="utf-8")
    assert load_config(path) == cfg


# --------------------------------------------------------------------------------------------------------------------
# error messages name the key and the fix


def test_unknown_key_suggests_the_close_match():
    with pytest.raises(ConfigError) as err:
        load_config(overrides=parse_overrides(["--pretrain.setps", "5"]))
    message = str(err.value)
    assert "pretrain.setps" in message and "did you mean 'pretrain.steps'" in message


def test_unknown_top_level_key_suggests_the_close_match():
    with pytest.raises(ConfigError, match="did you mean 'seed'"):
        load_config(overrides={"sed": 1})


def test_unknown_key_without_a_close_match_lists_valid_keys():
    with pytest.raises(ConfigError) as err:
        load_config(overrides={"decoding": {"zzzzzz": 1}})
    assert "decoding.zzzzzz" in str(err.value) and "max_summary_tokens" in str(err.value)


@pytest.mark.parametrize("overrides, key, words", [
    (["--pretrain.steps", "abc"], "pretrain.steps", "integer"),
    (["--pretrain.steps", "1.5"], "pretrain.steps", "integer"),
    (["--seed", "true"], "seed", "integer"),                        # a bool is not an int
    (["--pretrain.lr", "fast"], "pretrain.lr", "number"),
    (["--decoding.source_only", "1"], "decoding.source_only", "true or false"),
    (["--pretrain.task", "summarize"], "pretrain.task", "deletion"),  # lists the choices
    (["--model", "5"], "model", "section"),
])
def test_wrong_type_names_the_key(overrides, key, words):
    with pytest.raises(ConfigError) as err:
        load_config(overrides=parse_overrides(overrides))
    assert f"'{key}'" in str(err.value) and words in str(err.value)


def test_integral_float_is_accepted_for_an_int():
    assert load_config(overrides={"pretrain": {"steps": 5.0}}).pretrain.steps == 5


@pytest.mark.parametrize("overrides, key", [
    ({"model": {"d_model": 30, "attention_heads": 4}}, "model.attention_heads"),
    ({"discriminator": {"d_model": 30, "attention_heads": 4}}, "discriminator.attention_heads"),
    ({"adversarial": {"baseline": "loo", "num_samples": 1}}, "adversarial.baseline"),
    ({"adversarial": {"baseline": "best", "num_samples": 1}}, "adversarial.baseline"),
    ({"decoding": {"min_summary_tokens": 8, "max_summary_tokens": 8}}, "decoding.min_summary_tokens"),
    ({"decoding": {"min_summary_tokens": 9, "max_summary_tokens": 8}}, "decoding.min_summary_tokens"),
    ({"decoding": {"eos_damping": -1.0}}, "decoding.eos_damping"),
    ({"pretrain": {"summary_words_min": 12, "summary_words_max": 11}}, "pretrain.summary_words_min"),
    ({"model": {"dropout": 1.0}}, "model.dropout"),
    ({"gradient_accumulation_steps": 0}, "gradient_accumulation_steps"),
])
def test_impossible_values_name_the_key(overrides, key):
    with pytest.raises(ConfigError) as err:
        load_config(overrides=overrides)
    assert f"'{key}'" in str(err.value)


def test_mixed_precision_no_from_the_command_line_and_yaml(tmp_path):
    # 'no' is a documented choice (accelerate's own spelling for fp32), but YAML 1.1 reads an unquoted no as False
    assert load_config(overrides=parse_overrides(["--mixed_precision", "no"])).mixed_precision == "no"
    path = tmp_path / "fp32.yaml"
    path.write_text("mixed_precision: no\n", encoding="utf-8")
    assert load_config(path).mixed_precision == "no"


@pytest.mark.parametrize("key", ["reconstruction_weight", "discriminator_weight", "headline_weight",
                                 "contiguity_weight"])
def test_negative_reward_weight_names_the_key(key):
    with pytest.raises(ConfigError) as err:
        load_config(overrides={"adversarial": {key: -1.0}})
    assert f"'adversarial.{key}'" in str(err.value)


def test_no_reward_and_no_anchor_is_refused_but_the_anchor_alone_is_an_ablation():
    off = {"reconstruction_weight": 0.0, "discriminator_weight": 0.0, "similarity_weight": 0.0, "fluency_weight": 0.0}

    def adversarial(**keys) -> AdversarialConfig:
        return load_config(overrides={"adversarial": {**off, **keys}}).adversarial

    with pytest.raises(ConfigError, match="anchor-only ablation"):
        adversarial()
    with pytest.raises(ConfigError, match="anchor-only ablation"):
        AdversarialConfig(rewards=[RewardSpec("length", 1.0)])  # the length prior alone rewards nothing
    assert adversarial(pretrain_weight=1.0).pretrain_weight == 1.0
    assert adversarial(contiguity_weight=1.0).contiguity_weight == 1.0  # a model-free reward alone
    assert adversarial(headline_weight=0.5).headline_weight == 0.5


def test_impossible_values_also_raise_when_built_directly():
    with pytest.raises(ConfigError, match="model.attention_heads"):
        ModelConfig(d_model=30, attention_heads=4)
    with pytest.raises(ConfigError, match="num_samples >= 2"):
        AdversarialConfig(baseline="loo", num_samples=1)
    with pytest.raises(ConfigError, match="decoding.min_summary_tokens"):
        DecodingConfig(min_summary_tokens=16, max_summary_tokens=16)


# --------------------------------------------------------------------------------------------------------------------
# the train CLI's config handling


def test_train_print_config(capsys):
    from seq2seq2seq.train.cli import main

    tiny = ROOT / "scripts" / "configs" / "tiny.yaml"
    assert main(["--config", str(tiny), "--print_config", "--pretrain.steps", "5"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["pretrain"]["steps"] == 5                             # the override
    assert printed["model"]["d_model"] == load_config(tiny).model.d_model  # the file
    assert printed["adversarial"]["baseline"] == "greedy"                 # a default


def test_train_bad_key_exits_2_with_an_error(capsys):
    from seq2seq2seq.train.cli import main

    assert main(["--print_config", "--pretrain.setps", "5"]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("error:") and "pretrain.steps" in captured.err
    assert captured.out == ""


LEARNING_RATES = ["pretrain.lr", "pretrain_d.lr", "adversarial.lr_g", "adversarial.lr_r", "adversarial.lr_d"]


@pytest.mark.parametrize("key", LEARNING_RATES)
@pytest.mark.parametrize("value", ["inf", "nan", "-inf", ".inf", ".nan", "1e999", "-0.001"])
def test_a_non_finite_or_negative_learning_rate_is_refused_with_the_fix(key, value):
    # "inf" and "nan" arrive as strings from the command line (YAML 1.1 spells them .inf, .nan) and float() takes them
    with pytest.raises(ConfigError) as err:
        load_config(overrides=parse_overrides([f"--{key}", value]))
    assert f"'{key}'" in str(err.value) and ("finite" in str(err.value) or "learning rate" in str(err.value))


def test_learning_rates_of_zero_mean_frozen_in_the_adversarial_stage_only():
    assert load_config(overrides={"adversarial": {"lr_d": 0}}).adversarial.lr_d == 0.0  # D frozen
    for key in ("pretrain.lr", "pretrain_d.lr"):
        with pytest.raises(ConfigError, match=key):
            load_config(overrides=parse_overrides([f"--{key}", "0"]))


def test_non_finite_values_are_refused_for_every_number_and_when_built_directly():
    with pytest.raises(ConfigError, match="adversarial.discriminator_weight"):
        load_config(overrides=parse_overrides(["--adversarial.discriminator_weight", "inf"]))
    with pytest.raises(ConfigError, match="adversarial.lr_g"):
        AdversarialConfig(lr_g=float("inf"))


def test_train_refuses_an_infinite_learning_rate_before_training(capsys):
    from seq2seq2seq.train.cli import main

    assert main(["--config", str(ROOT / "scripts" / "configs" / "tiny.yaml"), "--adversarial.lr_g", "inf",
                 "--print_config"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "adversarial.lr_g" in err and "Traceback" not in err


def test_a_recorded_config_with_resume_changes_loads_and_round_trips(tmp_path):
    cfg = load_config(overrides={"adversarial": {"lr_g": 0.5}})
    changes = [{"step": 40, "stage": "adversarial", "global_step": 45, "key": "adversarial.lr_g", "old": 0.001,
                "new": 0.5}]
    path = tmp_path / "config.yaml"
    path.write_text(config_to_yaml(cfg, changes), encoding="utf-8")
    assert yaml.safe_load(path.read_text())["resume_changes"] == changes
    assert load_config(path) == cfg


# --------------------------------------------------------------------------------------------------------------------
# adversarial.rewards: the list, the keys before it, and the runs recorded with those keys

# what each shipped config weighted before adversarial.rewards (the old keys it sets, else their defaults)
SHIPPED_WEIGHTS = {
    "tiny.yaml": {"reconstruction": 1.0, "discriminator": 0.04, "length": 0.0},
    "cpu.yaml": {"reconstruction": 1.0, "discriminator": 0.04, "length": 0.5},
    "gpu.yaml": {"reconstruction": 1.0, "discriminator": 0.04, "length": 0.5},
    "quickstart.yaml": {"reconstruction": 1.0, "discriminator": 0.04, "length": 0.5},
}


def _weights(cfg: TrainConfig) -> dict[str, float]:
    return {spec.name: spec.weight for spec in cfg.adversarial.rewards}


def test_every_shipped_config_gives_the_weights_it_gave_before():
    assert sorted(p.name for p in CONFIGS) == sorted(SHIPPED_WEIGHTS)  # a new config: add what it weights here
    canonical = ["reconstruction", "discriminator", "length", "similarity", "fluency", "headline", "contiguity"]
    for path in CONFIGS:
        cfg = load_config(path)
        weights = {spec.name: spec.weight for spec in cfg.adversarial.rewards}
        # the same rewards count, at the same weights (a reward the list leaves out counts 0, as a 0 weight did)
        assert {k: v for k, v in weights.items() if v > 0} == {
            k: v for k, v in SHIPPED_WEIGHTS[path.name].items() if v > 0}
        names = [spec.name for spec in cfg.adversarial.rewards]  # summed in the canonical order, as before
        assert names == [name for name in canonical if name in names]
        a = cfg.adversarial  # the old names still read
        assert (a.reconstruction_weight, a.discriminator_weight, a.length_weight) == tuple(
            SHIPPED_WEIGHTS[path.name].values())
        assert a.similarity_weight == a.fluency_weight == a.headline_weight == a.contiguity_weight == 0.0
        assert a.similarity_model == a.fluency_model == ""


def test_the_old_keys_set_or_add_their_entry_in_yaml_and_on_the_command_line(tmp_path):
    path = tmp_path / "old.yaml"
    path.write_text("adversarial:\n  similarity_weight: 2\n  fluency_model: runs/lm\n  fluency_weight: 0.3\n",
                    encoding="utf-8")
    cfg = load_config(path, parse_overrides(["--adversarial.length_weight", "0.5",
                                             "--adversarial.similarity_model", "enc"]))
    assert [(s.name, s.weight, s.model) for s in cfg.adversarial.rewards] == [
        ("reconstruction", 1.0, ""), ("discriminator", 0.04, ""), ("length", 0.5, ""), ("similarity", 2.0, "enc"),
        ("fluency", 0.3, "runs/lm"), ("headline", 0.0, ""), ("contiguity", 0.0, "")]
    assert cfg.adversarial.weight("similarity") == 2.0 and cfg.adversarial.model_path("fluency") == "runs/lm"
    # beside a list, an old key sets its entry, or adds one at the end
    listed = load_config(overrides={"adversarial": {
        "rewards": [{"name": "contiguity", "weight": 1.0}, {"name": "reconstruction", "weight": 0.5}],
        "contiguity_weight": 0.25, "headline_weight": 2.0}})
    assert [(s.name, s.weight) for s in listed.adversarial.rewards] == [
        ("contiguity", 0.25), ("reconstruction", 0.5), ("headline", 2.0)]
    assert listed.adversarial.discriminator_weight == 0.0  # not listed: off
    # a list on the command line, in YAML's flow style
    flow = load_config(overrides=parse_overrides(["--adversarial.rewards",
                                                  "[{name: similarity, weight: 1, model: enc}, "
                                                  "{name: length, weight: 0.5}]"]))
    assert [(s.name, s.weight, s.model) for s in flow.adversarial.rewards] == [("similarity", 1.0, "enc"),
                                                                              ("length", 0.5, "")]


@pytest.mark.parametrize("rewards, words", [
    ([{"name": "similarty", "weight": 1}], "did you mean 'similarity'? the registered rewards are reconstruction, "
                                           "discriminator, length, similarity, fluency, headline, contiguity"),
    ([{"name": "similarity", "weight": -1}], "reward 'similarity': its weight must be a number >= 0"),
    ([{"name": "similarity", "weight": "inf"}], "'adversarial.rewards[0].weight': got 'inf'; give a finite number"),
    ([{"name": "fluency", "weight": 0.5}], "reward 'fluency': a weight > 0 needs a model"),
    ([{"name": "length", "weight": 1}, {"name": "length", "weight": 2}], "lists length more than once"),
    ([{"name": "similarity"}], "'adversarial.rewards[0]' needs weight: give it as {name: ..., weight: ..., model:"),
    ([{"name": "similarity", "wieght": 1}], "'adversarial.rewards[0].wieght' (did you mean "
                                            "'adversarial.rewards[0].weight'?)"),
    ([{"name": "length", "weight": 1}], "at least one reward weight must be positive"),
    ("similarity", "'adversarial.rewards': expected a list"),
    (["similarity"], "'adversarial.rewards[0]': expected a mapping of name, weight, model"),
])
def test_a_bad_reward_list_says_how_to_fix_it(rewards, words):
    with pytest.raises(ConfigError) as err:
        load_config(overrides={"adversarial": {"rewards": rewards}})
    assert words in str(err.value)


def test_a_bad_old_key_names_the_old_key_and_a_typo_suggests_it():
    with pytest.raises(ConfigError, match="'adversarial.fluency_weight': got 'nan'"):
        load_config(overrides=parse_overrides(["--adversarial.fluency_weight", "nan"]))
    with pytest.raises(ConfigError, match="did you mean 'adversarial.similarity_weight'"):
        load_config(overrides={"adversarial": {"similarity_wieght": 1.0}})
    with pytest.raises(ConfigError, match="train_fluency_lm.py"):
        load_config(overrides={"adversarial": {"fluency_weight": 0.1}})


def test_config_yaml_writes_the_list_and_a_run_folder_of_the_old_keys_loads_the_same(tmp_path):
    cfg = load_config(overrides={"adversarial": {"similarity_weight": 2.0, "headline_weight": 0.5,
                                                 "fluency_weight": 0.1, "fluency_model": "runs/lm"}})
    written = yaml.safe_load(config_to_yaml(cfg))["adversarial"]
    assert written["rewards"][3] == {"name": "similarity", "weight": 2.0, "model": ""}
    assert not {"similarity_weight", "fluency_model", "reconstruction_weight"} & set(written)
    # RUN/config.yaml as the code before adversarial.rewards wrote it: every old key, no list
    old = cfg.to_dict()
    old["adversarial"] = {key: value for key, value in old["adversarial"].items() if key != "rewards"}
    old["adversarial"].update(reconstruction_weight=1.0, discriminator_weight=0.04, length_weight=0.0,
                              similarity_weight=2.0, similarity_model="", fluency_weight=0.1, fluency_model="runs/lm",
                              headline_weight=0.5, contiguity_weight=0.0)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(old, sort_keys=False), encoding="utf-8")
    assert load_config(path) == cfg


def test_a_resume_compares_old_and_new_spellings_of_the_rewards_by_their_values():
    from seq2seq2seq.resume_policy import cli_value, flatten, normalised, restricted_changes

    stages = ("pretrain", "pretrain_d", "adversarial")
    cfg = load_config(overrides={"adversarial": {"length_weight": 0.5, "fluency_weight": 0.1,
                                                 "fluency_model": "runs/lm"}})
    old = cfg.to_dict()  # as a checkpoint of the code before adversarial.rewards recorded the same settings
    old["adversarial"] = {key: value for key, value in old["adversarial"].items() if key != "rewards"}
    old["adversarial"].update(reconstruction_weight=1.0, discriminator_weight=0.04, length_weight=0.5,
                              similarity_weight=0.0, similarity_model="", fluency_weight=0.1, fluency_model="runs/lm",
                              headline_weight=0.0, contiguity_weight=0.0)
    recorded = flatten(normalised(old))
    assert restricted_changes(recorded, cfg, "adversarial", stages) == []
    # a changed weight is reported under the key that changes it back on the command line
    changed = load_config(overrides={"adversarial": {"length_weight": 0.25, "fluency_weight": 0.1,
                                                     "fluency_model": "runs/lm", "contiguity_weight": 1.0}})
    assert restricted_changes(recorded, changed, "adversarial", stages) == [
        ("adversarial.length_weight", 0.5, 0.25), ("adversarial.contiguity_weight", 0.0, 1.0)]
    # the same rewards in another order are summed otherwise: the whole list, as the command line reads it back
    reordered = load_config(overrides={"adversarial": {"rewards": list(reversed(cfg.to_dict()["adversarial"]
                                                                             ["rewards"]))}})
    [(key, was, now)] = restricted_changes(recorded, reordered, "adversarial", stages)
    assert key == "adversarial.rewards" and now[0]["name"] == "contiguity"
    back = load_config(overrides=parse_overrides(["--adversarial.rewards", yaml.safe_load(f"x: {cli_value(was)}")["x"]]))
    assert back.adversarial.rewards == cfg.adversarial.rewards


def test_a_reward_list_that_only_leaves_out_rewards_of_weight_zero_is_no_change():
    from seq2seq2seq.resume_policy import flatten, restricted_changes

    stages = ("pretrain", "pretrain_d", "adversarial")
    recorded = flatten(load_config(overrides={"adversarial": {"length_weight": 0.5}}).to_dict())
    short = load_config(overrides={"adversarial": {"rewards": [{"name": "reconstruction", "weight": 1.0},
                                                               {"name": "discriminator", "weight": 0.04},
                                                               {"name": "length", "weight": 0.5}]}})
    assert restricted_changes(recorded, short, "adversarial", stages) == []


def test_covered_search_documents_refuse_the_anchor_that_reads_every_documents_target(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"pretrain": {"task": "search", "search_documents": "covered"},
                                    "adversarial": {"steps": 10, "pretrain_weight": 1.0}}))
    with pytest.raises(ConfigError, match="set adversarial.pretrain_weight: 0"):
        load_config(path)
    path.write_text(yaml.safe_dump({"pretrain": {"task": "search", "search_documents": "covered"},
                                    "adversarial": {"steps": 10, "pretrain_weight": 0.0}}))
    assert load_config(path).pretrain.search_documents == "covered"
    path.write_text(yaml.safe_dump({"pretrain": {"task": "headline", "search_documents": "covered"}}))
    with pytest.raises(ConfigError, match="set pretrain.task: search or search_documents: all"):
        load_config(path)
