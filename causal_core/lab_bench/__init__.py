"""DAG-drafting benchmark for the Model lab (issue 26): known graphs, metrics, linear simulation, critique."""
