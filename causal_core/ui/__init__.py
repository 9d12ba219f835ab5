"""Shared Streamlit widgets: the only part of causal_core that imports Streamlit.

Pages stay thin by calling these; everything they show is computed by Streamlit-free modules.
"""

# The widgets are used module by module (``from causal_core.ui import state``); nothing is re-exported here.
__all__: list[str] = []
