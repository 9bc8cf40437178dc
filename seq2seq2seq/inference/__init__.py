"""Using a trained summarizer: load an export and summarize (api), choose among candidates (choose), the
summarize CLI (cli, files), the transformers pipeline (hf_pipeline)."""
