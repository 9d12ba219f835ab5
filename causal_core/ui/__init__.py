"""Shared Streamlit widgets: the only part of causal_core that imports Streamlit.

Pages stay thin by calling these; everything they show is computed by Streamlit-free modules.
"""
