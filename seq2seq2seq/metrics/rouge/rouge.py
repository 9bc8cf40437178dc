"""ROUGE as an `evaluate` metric module, computed by ``seq2seq2seq.eval.rouge.score_summaries``.

Load it offline by path: ``evaluate.load("seq2seq2seq/metrics/rouge")`` or ``seq2seq2seq.eval.rouge.load_rouge_metric()``.
"""

import datasets
import evaluate

# evaluate copies this file into its module cache and imports the copy, so the library is imported by its absolute
# name. The import is indented on purpose: evaluate checks top-level imports against installed packages and would
# otherwise tell the user to "pip install seq2seq2seq", a name that is not on PyPI.
try:
    from seq2seq2seq.eval.rouge import ROUGE_TYPES, score_summaries
except ImportError as err:
    raise ImportError(
        "the seq2seq2seq ROUGE metric needs the seq2seq2seq package importable: run from the project root "
        "or `pip install -e <project root>`"
    ) from err

_DESCRIPTION = (
    "ROUGE-1, ROUGE-2 and ROUGE-L (rouge_score, Porter stemming on by default), averaged over examples and "
    "multiplied by 100, with the average prediction length in words. Several references per example: best score "
    "per example. This is the seq2seq2seq evaluation protocol (docs/evaluation.md)."
)

_KWARGS_DESCRIPTION = (
    "Args:\n"
    "    predictions: list of summaries, one per example.\n"
    "    references: list of references, one string or a list of strings per example.\n"
    "    measure: 'f1' (default) or 'recall'.\n"
    "    truncate_bytes: cut predictions to this many UTF-8 bytes first (None: no cut).\n"
    "    use_stemmer: Porter stemming (default True; English only).\n"
    "    language: 'en' (default), 'whitespace', 'zh' or 'ja' (Unicode letters kept; zh/ja by character).\n"
    "    cjk_unit: zh/ja: 'char' (default) or 'word' (segmented words).\n"
    "Returns:\n"
    "    rouge1, rouge2, rougeL (x100) and avg_words.\n"
    "Example:\n"
    "    metric.compute(predictions=['police kill gunman'], references=['gunman killed by police'])\n"
)

_CITATION = (
    "@inproceedings{lin-2004-rouge, title = {ROUGE: A Package for Automatic Evaluation of Summaries}, "
    "author = {Lin, Chin-Yew}, booktitle = {Text Summarization Branches Out}, year = {2004}, pages = {74--81}}"
)


class Rouge(evaluate.Metric):
    """ROUGE following the project's protocol; scores are x100, unlike the Hub's 0-1 "rouge" metric."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            # Two input forms: several references per example (DUC) or exactly one (Gigaword).
            features=[
                datasets.Features(
                    {
                        "predictions": datasets.Value("string"),
                        "references": datasets.Sequence(datasets.Value("string")),
                    }
                ),
                datasets.Features({"predictions": datasets.Value("string"), "references": datasets.Value("string")}),
            ],
            reference_urls=["https://aclanthology.org/W04-1013/"],
        )

    def _compute(
        self,
        predictions: list[str],
        references: list[str] | list[list[str]],
        measure: str = "f1",
        truncate_bytes: int | None = None,
        use_stemmer: bool = True,
        language: str = "en",
        cjk_unit: str = "char",
    ) -> dict[str, float]:
        scores = score_summaries(
            list(predictions),
            list(references),
            measure=measure,
            truncate_bytes=truncate_bytes,
            use_stemmer=use_stemmer,
            language=language,
            cjk_unit=cjk_unit,
        )
        return {name: scores[name] for name in (*ROUGE_TYPES, "avg_words")}
