"""Reports of searches: tables, plots and Markdown summaries."""
