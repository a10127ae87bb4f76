"""Bench-only experiments on Rasa's hot path, injected into the started processes through a
`sitecustomize` module on PYTHONPATH (the product's code is not changed). Each one is a
candidate change for the product, measured before it is proposed."""
