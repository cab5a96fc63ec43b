"""Images in: the data sources behind one spec string, and an upload made into a model input.
Knows nothing of models or runs."""
