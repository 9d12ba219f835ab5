"""The reporting stage: what the memo page shows and exports once the memo is written.

``consistency`` (the cross-artifact panel: do card, DAG, estimates and memo describe the same analysis?) and
``report`` (memo Markdown, the standalone HTML report, the ZIP with the environment manifest and notebook). They sit
above ``memo/`` and ``notebook/`` (they read the memo's facts and bundle the notebook) and below ``present/`` and the
UI. Import the modules; nothing is re-exported here.
"""

__all__: list[str] = []  # nothing is re-exported: import the modules
