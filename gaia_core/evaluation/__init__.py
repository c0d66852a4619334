"""Evaluation over datasets: scoring whole sets (cached, resumable, sharded under torchrun),
fitting the methods that need ID data, OOD metrics, ID percentiles and the metrics tables."""
