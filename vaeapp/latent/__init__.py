"""The latent space: a data set's codes, 2-D views of them and their inverses (axes, PCA, UMAP),
paths between codes, and the decoder as ONNX for the page's map. Built on the model's maths."""
