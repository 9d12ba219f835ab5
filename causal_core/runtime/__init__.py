"""Local model runtime (issue 3 builds it out): registry, cached sessions, structured generation.

Public entry point used by pages, the CLI and the model lab:

    run_task(task, inputs, model_key, settings=None, on_text=None, should_stop=None) -> AIInteraction

It never raises for a model or parsing failure: the returned interaction carries
``schema_valid=False`` and a ``failure_type`` from causal_core.structured.FAILURE_TYPES.
"""
