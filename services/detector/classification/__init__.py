"""Review classification: negativity, complaint category and language of every review event, offline."""
