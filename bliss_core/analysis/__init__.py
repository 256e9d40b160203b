"""Analysis: projections, figures and reports on top of the scoring core (plotly, umap-learn,
openTSNE). Nothing here computes a score: it draws and projects what :mod:`bliss_core.core`
computed."""
