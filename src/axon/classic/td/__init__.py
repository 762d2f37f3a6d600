"""Temporal-difference learning: Rescorla-Wagner, TD(0), TD(lambda), conditioning, the dopamine figure, random walks and TD-Gammon."""
