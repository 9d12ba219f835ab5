"""The model-task plumbing every AI draft shares: task schemas and prompts, the task registry, rubric records.

``structured`` (what a task is: schema, prompt, data block, decoding settings, failure types), ``tasks`` (the
registry, loaded lazily so the CLI starts fast) and ``rubric`` (checks into audit records; a failed draft scores
zero). Each stage keeps its own task and rubric (``question/``, ``dag/``, ``audit/``, ``memo/``); this package sits
just above the project schema so every stage may use it. Import the modules; nothing is re-exported here.
"""

__all__: list[str] = []  # nothing is re-exported: import the modules
