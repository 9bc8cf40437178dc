"""Using a trained summarizer: load an export, summarize, choose among candidates; the summarize CLI; the HF pipeline."""
