"""Mentions in: polls, imports and webhook batches through the pipeline that classifies, routes and stores them in
one transaction, and the second look (refiner)."""
