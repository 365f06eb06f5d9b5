"""`auditor compress`: light copies of photos and PDFs, visually unchanged, never bigger.

presets.py says what each preset means, images.py and pdf/ make one light copy in memory,
quality.py is the guard every copy must pass, runner.py finds files, runs them in parallel
and writes results safely. The scan's estimate of what it would save is data measured on the
benchmark corpus: auditor/impact/compression.py.
"""
