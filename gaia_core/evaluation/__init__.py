"""Evaluation over datasets: scoring whole sets (cached, resumable, sharded under torchrun),
fitting the methods that need ID data, OOD metrics and the paper's benchmark tables."""
