"""The five support dimensions of the study (the vocabulary judges, annotators and taggers share)."""

DIMENSIONS = ("informational", "emotional", "esteem", "network", "tangible")
